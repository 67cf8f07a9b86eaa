import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { InputError } from '../errors.js';

/** Where Debian/Ubuntu, Fedora/RHEL, Alpine and SUSE keep the system's CA bundle. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
  '/etc/ssl/ca-bundle.pem',
];

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
    if (pem === undefined) throw new InputError('SHALE_BAD_CA_FILE', `${from} ${file}: cannot read the file; give a PEM file with the registry's CA certificate`);
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
