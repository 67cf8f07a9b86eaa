/**
 * Core metadata read from wheels, kept by the wheel's sha256: `<cache>/metadata/<sha256>.json`
 * holds the METADATA text and its own sha256, so a resolver never reads a version's metadata
 * from the network twice. Written atomically; a record that does not verify is removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { touch } from '../store/cache-prune.js';

/** One cached METADATA text, keyed by the wheel's sha256; `sha256` guards the text itself. */
interface CacheRecord {
  wheel: string;
  filename: string;
  sha256: string;
  text: string;
}

const sha256Hex = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** What a lookup found: the text, where it is kept, or why a record was thrown away. */
export type MetadataHit = { text: string; path: string } | { damaged: string } | undefined;

/** The wheel metadata of one cache directory (`root/metadata`). */
export class MetadataCache {
  /** Where the records live (installed file lists live there too: plan/package-files.ts). */
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'metadata');
  }

  /** The file that holds the record of the wheel with this hash. */
  path(sha256: string): string {
    return join(this.dir, `${sha256}.json`);
  }

  /** The METADATA text of the wheel with this hash; a record that does not verify is removed (`damaged` names it). */
  async get(sha256: string): Promise<MetadataHit> {
    const path = this.path(sha256);
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = JSON.parse(raw) as Partial<CacheRecord>;
      if (r.wheel !== sha256 || typeof r.text !== 'string' || r.sha256 !== sha256Hex(r.text)) throw new Error('record does not verify');
      await touch(path);
      return { text: r.text, path };
    } catch {
      await this.drop(sha256);
      return { damaged: path };
    }
  }

  /** Removes the record of the wheel with this hash (its text did not parse as metadata). */
  async drop(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true }).catch(() => undefined);
  }

  /** Keeps the text for the wheel with this hash; throws when it cannot be written. */
  async set(sha256: string, filename: string, text: string): Promise<void> {
    const rec: CacheRecord = { wheel: sha256, filename, sha256: sha256Hex(text), text };
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.path(sha256), JSON.stringify(rec));
  }
}
