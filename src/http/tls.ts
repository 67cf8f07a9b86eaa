import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type PeerCertificate, type SecureContext } from 'node:tls';
import { InputError } from '../errors.js';

/** Where Debian/Ubuntu, Fedora/RHEL, Alpine and SUSE keep the system's CA bundle. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem', '/etc/ssl/ca-bundle.pem'];

/** Which certificate authorities to trust for registries, besides Node's own Mozilla roots. */
export interface TrustOptions {
  /** PEM files given with `--registry-ca FILE` (the user's private CA or a self-signed registry). */
  caFiles?: readonly string[];
  /** Environment to read `SSL_CERT_FILE` from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A TLS context trusting Node's roots, the system bundle (corporate CAs installed with
 * update-ca-certificates), `SSL_CERT_FILE` and every `--registry-ca` file. Unreadable files the user
 * named are bad input; a missing system bundle is not.
 */
export function trustContext(opts: TrustOptions = {}): SecureContext {
  const env = opts.env ?? process.env;
  const ca: string[] = [...rootCertificates];
  for (const p of SYSTEM_BUNDLES) {
    const pem = tryRead(p);
    if (pem !== undefined) {
      ca.push(pem);
      break;
    }
  }
  const named: [string, string][] = (opts.caFiles ?? []).map((f) => [f, '--registry-ca']);
  const sslCertFile = env['SSL_CERT_FILE'];
  if (sslCertFile) named.push([sslCertFile, 'SSL_CERT_FILE']);
  for (const [file, from] of named) {
    const pem = tryRead(file);
    if (pem === undefined)
      throw new InputError('SHALE_BAD_CA_FILE', `${from} ${file}: cannot read the file; give a PEM file with the registry's CA certificate`);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InputError('SHALE_BAD_CA_FILE', `${from} ${file}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")`);
    }
    ca.push(pem);
  }
  return createSecureContext({ ca });
}

function tryRead(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** Node's code for a trusted certificate that does not name the host it was reached by. */
export const ALTNAME_INVALID = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * The message for a certificate that is for other host names (ERR_TLS_CERT_ALTNAME_INVALID), or
 * undefined for any other error. Its CA may well be trusted (given with --registry-ca), so "not
 * trusted, give its CA" would send the user the wrong way: say which names it is for instead.
 */
export function wrongNameMessage(host: string, err: unknown, peer = 'registry'): string | undefined {
  const tlsErr = findAltnameError(err);
  if (!tlsErr) return undefined;
  const name = typeof tlsErr.host === 'string' && tlsErr.host !== '' ? tlsErr.host : host;
  const names = certificateNames(tlsErr.cert);
  const cn = tlsErr.cert?.subject?.CN;
  const problem = names.length
    ? `the certificate of ${name} is for other names (${names.join(', ')})`
    : `the certificate of ${name} names no host in its subjectAltName${typeof cn === 'string' && cn ? ` (its CN is ${cn})` : ''}`;
  return (
    `cannot reach ${peer} ${host}: ${problem}, so it does not prove that this is ${name} (${ALTNAME_INVALID}). ` +
    `Use the ${peer} by a name its certificate lists, or have the certificate reissued with ${name} in its subjectAltName` +
    (peer === 'registry' ? `; for a test registry only, --insecure-registry ${host} skips the check.` : '.')
  );
}

/** The names a certificate is for: its subjectAltName DNS names and IP addresses. */
export function certificateNames(cert: Partial<PeerCertificate> | undefined): string[] {
  const alt = cert?.subjectaltname;
  if (typeof alt !== 'string') return [];
  return alt
    .split(/,\s*/)
    .map((n) => n.trim().replace(/^(DNS|IP Address):/, ''))
    .filter((n) => n !== '');
}

interface AltnameError {
  host?: unknown;
  cert?: Partial<PeerCertificate>;
}

function findAltnameError(err: unknown): AltnameError | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const rec = e as { code?: unknown; cause?: unknown };
    if (rec.code === ALTNAME_INVALID) return e as AltnameError;
    e = rec.cause;
  }
  return undefined;
}
