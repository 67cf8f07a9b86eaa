import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Events } from '../events.js';
import { digestHex, sha256 } from '../oci/digest.js';
import { writeFileAtomic } from './atomic-file.js';
import { isNotFound } from './blob-store.js';
import { DamageReport, damageOf } from './cache-damage.js';
import { makeDir } from './disk-errors.js';

/**
 * Remembers the inputs of the last build of each layer of a project (by project directory,
 * platform and layer name), so `--explain` can say which input changed when a layer is rebuilt.
 * One small JSON file per layer, written atomically. A damaged record (empty, cut short,
 * garbage) is absent, said once to `events`, and rewritten by the next `set`.
 */
export class LayerRecords {
  private readonly dir: string;
  private readonly damage: DamageReport;

  constructor(
    private readonly root: string,
    events?: Events,
  ) {
    this.dir = join(root, 'records');
    this.damage = new DamageReport(events);
  }

  private path(key: readonly string[]): string {
    return join(this.dir, `${digestHex(sha256(key.join('\0')))}.json`);
  }

  /** The inputs recorded for a layer last time, or undefined. */
  async get(key: readonly string[]): Promise<unknown> {
    const file = this.path(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (!isNotFound(err)) this.damage.damaged(file, 'layer record', err instanceof Error ? err.message : String(err));
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      this.damage.damaged(file, 'layer record', damageOf(text, err));
      return undefined;
    }
  }

  /** Records a layer's inputs for the next build (no write when the record already says so). */
  async set(key: readonly string[], inputs: unknown): Promise<void> {
    const path = this.path(key);
    const text = JSON.stringify(inputs);
    if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
    await makeDir(this.dir, this.root);
    await writeFileAtomic(path, text, this.root);
  }
}
