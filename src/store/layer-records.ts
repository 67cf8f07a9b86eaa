import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, sha256 } from '../oci/digest.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Remembers the inputs of the last build of each layer of a project (by project directory,
 * platform and layer name), so `--explain` can say which input changed when a layer is rebuilt.
 * One small JSON file per layer, written atomically; unreadable records are simply absent.
 */
export class LayerRecords {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'records');
  }

  private path(key: readonly string[]): string {
    return join(this.dir, `${digestHex(sha256(key.join('\0')))}.json`);
  }

  /** The inputs recorded for a layer last time, or undefined. */
  async get(key: readonly string[]): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.path(key), 'utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /** Records a layer's inputs for the next build (no write when the record already says so). */
  async set(key: readonly string[], inputs: unknown): Promise<void> {
    const path = this.path(key);
    const text = JSON.stringify(inputs);
    if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return;
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(path, text);
  }
}
