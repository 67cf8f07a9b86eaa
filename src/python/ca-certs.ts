/**
 * `ca-certs = true`: a layer with a CA bundle for bases that have none (distroless-like or
 * `--variant=minbase` bases), so Python's ssl module can verify TLS peers. One rule, so the
 * result is predictable: the bundle is the build host's /etc/ssl/certs/ca-certificates.crt
 * (Debian, Ubuntu and Alpine keep their system bundle there), copied to the same path in the image.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { bufferEntry, type Entry } from '../layer/entry.js';

/** Where the bundle comes from on the host, and where it goes in the image. */
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The `ca-certs` layer's entries: the host's CA bundle at {@link CA_BUNDLE_PATH}. An InputError
 * when the host has no readable PEM bundle there, naming the file and what to do.
 */
export async function hostCaBundle(configFile: string, file = CA_BUNDLE_PATH): Promise<Entry[]> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new InputError(
      'SHALE_NO_CA_BUNDLE',
      `${configFile}: ca-certs = true copies this machine's CA bundle ${file} into the image, but it ${why}; install the CA certificates (apt-get install ca-certificates, apk add ca-certificates) or remove ca-certs`,
    );
  }
  if (!data.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InputError(
      'SHALE_NO_CA_BUNDLE',
      `${configFile}: ca-certs = true copies this machine's CA bundle ${file} into the image, but it holds no PEM certificate; reinstall the CA certificates (update-ca-certificates) or remove ca-certs`,
    );
  }
  return [bufferEntry(CA_BUNDLE_PATH.slice(1), data, 0o644)];
}
