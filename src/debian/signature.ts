/**
 * The check of a repository's `InRelease`: an OpenPGP cleartext-signed Release file, verified
 * with the keys apt would trust for that source (openpgp.js). Only the signed text is returned,
 * so nothing unsigned can reach the index.
 */
import type * as openpgp from 'openpgp';

// Loaded when first needed: every other command starts without parsing it.
const pgp = (): Promise<typeof openpgp> => import('openpgp');

/** A keyring file as bytes: binary (a .gpg keyring: keys one after another) or ASCII-armored (.asc). */
export interface Keyring {
  name: string;
  bytes: Buffer;
}

/** Reads every public key of the keyrings; a file that holds no readable key is skipped (apt does the same). */
export async function readKeyrings(keyrings: readonly Keyring[]): Promise<openpgp.PublicKey[]> {
  const out: openpgp.PublicKey[] = [];
  for (const k of keyrings) {
    const text = k.bytes.toString('latin1');
    const { readKeys } = await pgp();
    try {
      const keys = text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')
        ? await readKeys({ armoredKeys: text })
        : await readKeys({ binaryKeys: new Uint8Array(k.bytes) });
      out.push(...keys);
    } catch {
      // not a key file apt could use either
    }
  }
  return out;
}

/** Why a signature check failed, said in a sentence. */
export class SignatureError extends Error {}

/**
 * Verifies a cleartext-signed message (an InRelease) with `keys`, and returns the signed text.
 * Throws a SignatureError when it is not signed, or by none of `keys`, or the signature is bad.
 */
export async function verifyClearsigned(text: string, keys: readonly openpgp.PublicKey[]): Promise<string> {
  if (!keys.length) throw new SignatureError('no public key to check it with');
  const { readCleartextMessage, verify } = await pgp();
  let message: openpgp.CleartextMessage;
  try {
    message = await readCleartextMessage({ cleartextMessage: text });
  } catch (err) {
    throw new SignatureError(`it is not an OpenPGP cleartext-signed file (${err instanceof Error ? err.message : String(err)})`);
  }
  const result = await verify({ message, verificationKeys: [...keys] });
  const reasons: string[] = [];
  for (const sig of result.signatures) {
    try {
      await sig.verified;
      return message.getText();
    } catch (err) {
      reasons.push(`key ${sig.keyID.toHex()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new SignatureError(reasons.length ? `no valid signature by a trusted key (${reasons.join('; ')})` : 'it carries no signature');
}
