// A Docker credential helper for tests (`docker-credential-NAME`, the docker-credential-helpers
// protocol): a small script on PATH whose answers come from a JSON file the test writes.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** What the helper answers for a server URL: credentials, or a failure (exit 3, a message on stderr). */
export type HelperAnswer = { Username: string; Secret: string } | 'fail';

/** A credential helper installed in a temp dir. */
export interface CredHelper {
  /** The helper's name for config.json (`credHelpers` / `credsStore`). */
  name: string;
  /** The temp dir holding the script (put it first on PATH) and its answers. */
  dir: string;
  /** PATH with the helper's dir first. */
  path: string;
  /** Sets the answers: server URL → answer; unknown servers get "credentials not found in native keychain". */
  answer(answers: Record<string, HelperAnswer>): Promise<void>;
  /** The server URLs the helper was asked for, in order. */
  calls(): Promise<string[]>;
  remove(): Promise<void>;
}

/** Writes `docker-credential-NAME` (a node script) into a fresh temp dir. */
export async function installCredHelper(name = 'shaletest'): Promise<CredHelper> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-cred-helper-'));
  const answers = join(dir, 'answers.json');
  const calls = join(dir, 'calls.log');
  const script = `#!${process.execPath}
const fs = require('node:fs');
if (process.argv[2] !== 'get') { process.stderr.write('only get is supported\\n'); process.exit(1); }
let input = '';
process.stdin.on('data', (b) => { input += b; });
process.stdin.on('end', () => {
  const server = input.trim();
  fs.appendFileSync(${JSON.stringify(calls)}, server + '\\n');
  const all = JSON.parse(fs.readFileSync(${JSON.stringify(answers)}, 'utf8'));
  const a = all[server];
  if (a === undefined) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  if (a === 'fail') { process.stderr.write('keychain is locked\\n'); process.exit(3); }
  process.stdout.write(JSON.stringify({ ServerURL: server, Username: a.Username, Secret: a.Secret }));
});
`;
  const file = join(dir, `docker-credential-${name}`);
  // The script is CommonJS; a package.json beside it keeps node from guessing ESM.
  await writeFile(join(dir, 'package.json'), '{"type":"commonjs"}');
  await writeFile(file, script);
  await chmod(file, 0o755);
  await writeFile(answers, '{}');
  return {
    name,
    dir,
    path: `${dir}${delimiter}${process.env['PATH'] ?? ''}`,
    answer: (a) => writeFile(answers, JSON.stringify(a)),
    calls: async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
