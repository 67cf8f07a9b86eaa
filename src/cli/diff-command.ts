import { diffImages } from '../inspect/diff.js';
import { openArtifact } from '../image/open.js';
import { loadArtifact } from '../image/opened.js';
import { RegistryClient } from '../registry/client.js';
import { formatBytes, table } from './format.js';

const MARK = { both: '=', a: '-', b: '+' } as const;

/** `shale diff A B`: the layers two images share and the bytes a pull of B after A moves. */
export async function diffCommand(a: string, b: string, flags: Record<string, unknown>): Promise<void> {
  const client = new RegistryClient({
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    caFiles: (flags.registryCa as string[] | undefined) ?? [],
  });
  try {
    const read = async (x: string) => loadArtifact(await openArtifact(x, { client }));
    const [imgA, imgB] = await Promise.all([read(a), read(b)]);
    const diffs = diffImages(imgA, imgB);
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ platforms: diffs })}\n`);
      return;
    }
    for (const d of diffs) {
      if (diffs.length > 1) process.stdout.write(`${d.platform}\n`);
      process.stdout.write(
        table(
          ['', 'LAYER', 'DIGEST', 'SIZE'],
          d.layers.map((l) => [MARK[l.where], l.name, l.digest.slice(7, 19), formatBytes(l.size)]),
        ),
      );
      process.stdout.write(`shared: ${d.shared.layers} layers, ${formatBytes(d.shared.bytes)}; a pull of B after A moves ${formatBytes(d.pullBytes)}\n`);
    }
  } finally {
    await client.close();
  }
}
