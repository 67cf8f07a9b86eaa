/**
 * What shale learned of base images, kept by base manifest digest, so a base's layers are read
 * once per machine: `<cache>/base/<digest hex>.json`, an object of the same keys and texts the
 * image's manifest annotations carry (`{"dev.shale.base.libc": "glibc 2.36",
 * "dev.shale.base.python": "3.11 debian"}`). A manifest digest names its layers, so a record
 * never goes stale.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Events } from '../events.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { isNotFound } from '../store/blob-store.js';
import { DamageReport, damageOf } from '../store/cache-damage.js';
import { makeDir } from '../store/disk-errors.js';

/** Base facts as recorded: annotation key → text ("dev.shale.base.libc" → "glibc 2.36"). */
export type FactRecord = Readonly<Record<string, string>>;

/**
 * The records of one cache directory, and the base scans running in this process (so platforms
 * or commands that share a base digest read its layers once). A damaged record is missing,
 * said once to `events`, and written anew; a record that cannot be written only costs a later
 * scan.
 */
export class BaseRecords {
  private readonly dir: string;
  private readonly damage: DamageReport;
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(root: string, events?: Events) {
    this.dir = join(root, 'base');
    this.damage = new DamageReport(events);
  }

  private path(digest: string): string {
    return join(this.dir, `${digest.replace(/^sha256:/, '').replace(/[^0-9a-zA-Z]/g, '-')}.json`);
  }

  /** The facts recorded for a base manifest digest, or undefined. */
  async get(digest: string): Promise<FactRecord | undefined> {
    const file = this.path(digest);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (!isNotFound(err)) this.damage.damaged(file, 'base image record', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('it is not a JSON object');
      return Object.fromEntries(Object.entries(v).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
    } catch (err) {
      this.damage.damaged(file, 'base image record', damageOf(text, err));
      return undefined;
    }
  }

  /** Adds facts to a base digest's record (atomically; nothing is written when it already says them). */
  async add(digest: string, facts: FactRecord): Promise<void> {
    if (Object.keys(facts).length === 0) return;
    try {
      const before = (await this.get(digest)) ?? {};
      const after = { ...before, ...facts };
      if (Object.entries(after).every(([k, v]) => before[k] === v)) return;
      await makeDir(this.dir, this.dir);
      await writeFileAtomic(this.path(digest), JSON.stringify(after));
    } catch {
      // The record only saves a later scan of the base's layers.
    }
  }

  /** Runs `work` once at a time per key in this process: callers that ask meanwhile share its result. */
  once<T>(key: string, work: () => Promise<T>): Promise<T> {
    let p = this.pending.get(key) as Promise<T> | undefined;
    if (!p) {
      p = work();
      this.pending.set(key, p);
      const forget = (): void => void this.pending.delete(key);
      p.then(forget, forget);
    }
    return p;
  }
}
