import { detectStarter, writeStarter } from '../init/detect.js';

/** `shale init [DIR]`: write a starter [tool.shale] section from what it detects, and say why. */
export async function initCommand(dir: string): Promise<void> {
  const starter = await detectStarter(dir);
  const text = await writeStarter(starter);
  process.stderr.write(`${starter.notes.map((n) => `  ${n}`).join('\n')}\n`);
  process.stdout.write(`wrote ${starter.file}:\n\n${text}`);
}
