// InRelease checks with keys made here: a file signed by a trusted key passes and gives the
// signed text; a changed byte, another key, or no signature at all is refused.
import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import * as openpgp from 'openpgp';
import { readKeyrings, SignatureError, verifyClearsigned } from '../../../src/debian/signature.js';

let trusted: { armored: string; binary: Buffer; priv: openpgp.PrivateKey };
let other: { armored: string; priv: openpgp.PrivateKey };
const RELEASE = 'Origin: Test\nSuite: stable\nSHA256:\n 00 1 main/binary-amd64/Packages\n';

async function key(name: string): Promise<{ armored: string; binary: Buffer; priv: openpgp.PrivateKey }> {
  const k = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }], format: 'object' });
  return { armored: k.publicKey.armor(), binary: Buffer.from(k.publicKey.write()), priv: k.privateKey };
}
const sign = async (text: string, priv: openpgp.PrivateKey): Promise<string> =>
  openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: priv });

before(async () => {
  trusted = await key('archive');
  other = await key('someone else');
});

describe('verifyClearsigned', () => {
  it('passes a file signed by a key of a binary or armored keyring, and returns the signed text', async () => {
    const signed = await sign(RELEASE, trusted.priv);
    for (const bytes of [trusted.binary, Buffer.from(trusted.armored)]) {
      const keys = await readKeyrings([{ name: 'k', bytes }]);
      assert.equal(keys.length, 1);
      assert.equal(await verifyClearsigned(signed, keys), RELEASE);
    }
  });
  it('refuses a changed byte, a signature by another key, and an unsigned file', async () => {
    const keys = await readKeyrings([
      { name: 'k', bytes: trusted.binary },
      { name: 'garbage', bytes: Buffer.from('not a key') },
    ]);
    const signed = await sign(RELEASE, trusted.priv);
    await assert.rejects(verifyClearsigned(signed.replace('Suite: stable', 'Suite: stablE'), keys), SignatureError);
    await assert.rejects(verifyClearsigned(await sign(RELEASE, other.priv), keys), /no valid signature by a trusted key/);
    await assert.rejects(verifyClearsigned(RELEASE, keys), /not an OpenPGP cleartext-signed file/);
    await assert.rejects(verifyClearsigned(signed, []), /no public key/);
  });
});
