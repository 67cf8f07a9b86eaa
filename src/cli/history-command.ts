import { imageHistory } from '../inspect/history.js';
import { openArtifact } from '../image/open.js';
import { loadArtifact } from '../image/opened.js';
import { RegistryClient } from '../registry/client.js';
import { formatBytes, table } from './format.js';

/** `shale history IMAGE`: the layers of an image, like `docker history`. */
export async function historyCommand(arg: string, flags: Record<string, unknown>): Promise<void> {
  const client = new RegistryClient({
    insecureRegistries: (flags.insecureRegistry as string[] | undefined) ?? [],
    caFiles: (flags.registryCa as string[] | undefined) ?? [],
  });
  try {
    const rows = imageHistory(await loadArtifact(await openArtifact(arg, { client })));
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ layers: rows })}\n`);
      return;
    }
    const multi = new Set(rows.map((r) => r.platform)).size > 1;
    const header = [...(multi ? ['PLATFORM'] : []), 'LAYER', 'DIGEST', 'SIZE', 'CREATED BY'];
    process.stdout.write(
      table(
        header,
        rows.map((r) => [...(multi ? [r.platform] : []), r.name, r.digest.slice(7, 19), formatBytes(r.size), r.createdBy]),
      ),
    );
  } finally {
    await client.close();
  }
}
