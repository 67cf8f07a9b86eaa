import { InputError } from '../errors.js';
import type { Digest } from '../oci/types.js';

/**
 * An image reference, normalized the way Docker does it: `python:3.11-slim` is
 * `{ registry: 'docker.io', repository: 'library/python', tag: '3.11-slim' }`.
 * A reference has a tag, a digest, or both (`name:tag@sha256:...`); when it has a digest, pulls use it.
 */
export interface Reference {
  /** Registry name as the user knows it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`. Not the API host. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/python`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** Docker Hub's canonical registry name. */
export const DOCKER_HUB = 'docker.io';
/** The tag a reference gets when it names neither a tag nor a digest. */
export const DEFAULT_TAG = 'latest';

const MAX_NAME_LENGTH = 255;
// The distribution reference grammar (distribution/reference/regexp.go).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN_NAME = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6 = /^\[[a-fA-F0-9:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Parses and normalizes an image reference (`python:3.11-slim`, `ghcr.io/o/app@sha256:...`,
 * `127.0.0.1:5000/demo/app:v1`). Throws `InputError('SHALE_BAD_REFERENCE')` saying what is wrong.
 */
export function parseReference(s: string): Reference {
  const bad = (why: string): InputError => new InputError('SHALE_BAD_REFERENCE', `invalid image reference "${s}": ${why}`);
  const input = s.trim();
  if (input === '') throw bad('it is empty; expected [host[:port]/]repository[:tag][@sha256:digest]');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw bad('leave out the scheme; write host[:port]/repository[:tag]');
  }

  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!DIGEST.test(d)) throw bad(`digest "${d}" must be "sha256:" followed by 64 lowercase hex characters`);
    digest = d as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw bad(`tag "${tag}" must start with a letter, digit or "_" and contain only letters, digits, "_", "." and "-" (at most 128 characters)`);
    }
  }

  const { registry, repository } = splitName(rest, bad);
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) {
    throw bad(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

function splitName(name: string, bad: (why: string) => InputError): { registry: string; repository: string } {
  if (name === '') throw bad('the repository name is missing');
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  // Docker's rule: the first component is a registry if it looks like a host.
  const isHost = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  let registry = isHost ? first : DOCKER_HUB;
  let repository = isHost ? name.slice(slash + 1) : name;
  if (isHost) validateHost(registry, bad);
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '') throw bad('the repository name is missing after the registry');
  for (const part of repository.split('/')) {
    if (part === '') throw bad(`repository "${repository}" has an empty path component`);
    if (part !== part.toLowerCase()) throw bad(`repository name must be lowercase ("${part}")`);
    if (!PATH_COMPONENT.test(part)) {
      throw bad(`repository path component "${part}" may only hold lowercase letters and digits, separated by ".", "_", "__" or "-"`);
    }
  }
  return { registry, repository };
}

function validateHost(host: string, bad: (why: string) => InputError): void {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(host);
  const name = m?.[1] ?? '';
  const port = m?.[2];
  if (!(DOMAIN_NAME.test(name) || IPV6.test(name))) throw bad(`registry host "${host}" is not a valid host name`);
  if (port !== undefined && !PORT.test(port)) throw bad(`registry port "${port}" must be a number`);
}

/** `registry/repository`, e.g. `docker.io/library/python`: the name without tag or digest. */
export const repoString = (ref: Reference): string => `${ref.registry}/${ref.repository}`;

/** The full normalized reference: `docker.io/library/python:3.11-slim[@sha256:...]`. */
export function referenceString(ref: Reference): string {
  return `${repoString(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What to ask the registry's manifest endpoint for: the digest when there is one, else the tag. */
export const manifestReference = (ref: Reference): string => ref.digest ?? ref.tag ?? DEFAULT_TAG;

/** The host that serves a registry's API: `docker.io` is served by `registry-1.docker.io`. */
export const registryApiHost = (registry: string): string => (registry === DOCKER_HUB ? 'registry-1.docker.io' : registry);

/** Parses a reference given by `what` (a flag or config key), naming it in the error. */
export function parseReferenceAt(what: string, text: string): Reference {
  try {
    return parseReference(text);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(err.code, `${what}: ${err.message}`, { cause: err });
    throw err;
  }
}
