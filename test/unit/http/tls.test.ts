// The message for a certificate that is for other host names (ERR_TLS_CERT_ALTNAME_INVALID).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { certificateNames, wrongNameMessage } from '../../../src/http/tls.js';

const altname = (cert: object): Error =>
  Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', host: 'reg.internal', cert });

it('lists the DNS names and IP addresses of the certificate', () => {
  assert.deepEqual(certificateNames({ subjectaltname: 'DNS:a.example, IP Address:10.0.0.1, DNS:*.b.example' }), ['a.example', '10.0.0.1', '*.b.example']);
  assert.deepEqual(certificateNames({}), []);
});

it('says which names the certificate is for, found through the error causes', () => {
  const wrapped = Object.assign(new Error('network error'), { cause: altname({ subjectaltname: 'DNS:registry.example' }) });
  const m = wrongNameMessage('reg.internal:5000', wrapped);
  assert.equal(
    m,
    'cannot reach registry reg.internal:5000: the certificate of reg.internal is for other names (registry.example), so it does not prove that this is reg.internal (ERR_TLS_CERT_ALTNAME_INVALID). ' +
      'Use the registry by a name its certificate lists, or have the certificate reissued with reg.internal in its subjectAltName; for a test registry only, --insecure-registry reg.internal:5000 skips the check.',
  );
});

it('a certificate with only a CN says so', () => {
  const m = wrongNameMessage('reg.internal', altname({ subject: { CN: 'old-name' } }));
  assert.match(m ?? '', /the certificate of reg\.internal names no host in its subjectAltName \(its CN is old-name\)/);
});

it('leaves every other error to the usual message', () => {
  assert.equal(wrongNameMessage('h', Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })), undefined);
  assert.equal(wrongNameMessage('h', 'text'), undefined);
});
