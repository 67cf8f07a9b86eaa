import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes files (relative path → content) under a fresh temp directory and returns it. */
export async function writeProject(files: Record<string, string>, prefix = 'shale-project-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  return dir;
}
