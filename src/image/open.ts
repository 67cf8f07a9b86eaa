import { stat } from 'node:fs/promises';
import { ShaleError } from '../errors.js';
import type { Platform } from '../oci/types.js';
import { parseReference, referenceString, type Reference } from '../ref/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { openLayout } from './layout.js';
import type { OpenedArtifact } from './opened.js';
import { openRemote } from './remote.js';
import { platformImage } from './select-platform.js';
import { openTarball } from './tarball.js';

/**
 * Where an image is: a registry reference, an OCI layout directory, a tarball, or a string that
 * names one of them as the command line does (an existing directory is a layout, an existing
 * file a tarball, anything else a reference).
 */
export type ArtifactLocation = string | Reference | { layout: string } | { tarball: string };

/** Options for {@link openArtifact}. */
export interface OpenOptions {
  /** The registry client for references; layers read later use it too, so close it after them. */
  client?: RegistryClient;
  /** How messages name what was opened (default: the location as given, a reference normalized). */
  name?: string;
  /** In a layout or tarball that holds several images: the one with this tag, name or digest. */
  ref?: string;
  /** Only this platform's image: an index's entry for it, or the image itself when it is for it. */
  platform?: Platform;
}

/**
 * Opens an image or an index wherever it is (`shale history`, `shale diff`, the base of a build,
 * the earlier images a build reuses layers from, `shale validate`'s layout). What comes back is
 * read as far as it was needed: an image's manifest and config, an index's entries (its images
 * are read when asked for, see `loadArtifact`); layers never, until a target opens them. With
 * `platform`, the one image for it.
 */
export async function openArtifact(location: ArtifactLocation, opts: OpenOptions = {}): Promise<OpenedArtifact> {
  const name =
    opts.name ??
    (typeof location === 'string' ? location : 'registry' in location ? referenceString(location) : 'layout' in location ? location.layout : location.tarball);
  const opened = await openLocation(location, opts, name);
  if (!opts.platform) return opened;
  return { kind: 'image', image: await platformImage(opened, opts.platform, name) };
}

async function openLocation(location: ArtifactLocation, opts: OpenOptions, name: string): Promise<OpenedArtifact> {
  if (typeof location === 'string') {
    const st = await stat(location).catch(() => undefined);
    if (st?.isDirectory()) return openLayout(location, opts.ref);
    if (st?.isFile()) return openTarball(location, opts.ref);
    return openRemote(clientFor(opts, name), parseReference(location), { name });
  }
  if ('layout' in location) return openLayout(location.layout, opts.ref);
  if ('tarball' in location) return openTarball(location.tarball, opts.ref);
  return openRemote(clientFor(opts, name), location, { name });
}

function clientFor(opts: OpenOptions, name: string): RegistryClient {
  if (!opts.client) throw new ShaleError('SHALE_NO_CLIENT', `${name} is a registry reference: pass a RegistryClient as \`client\` to open it.`);
  return opts.client;
}
