import { detectStarter, writeStarter } from '../init/detect.js';

/** `shale init [DIR] [-f Dockerfile]`: write a starter [tool.shale] section from what it detects, and say why. */
export async function initCommand(dir: string, dockerfile?: string): Promise<void> {
  const starter = await detectStarter(dir, dockerfile === undefined ? {} : { dockerfile });
  const text = await writeStarter(starter);
  process.stderr.write(`${starter.notes.map((n) => `  ${n}`).join('\n')}\n`);
  for (const t of starter.todos) process.stderr.write(`  TODO: ${t}\n`);
  process.stdout.write(`wrote ${starter.file}:\n\n${text}`);
}
