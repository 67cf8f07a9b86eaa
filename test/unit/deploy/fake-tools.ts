import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fake `kubectl` and `az` executables in a temp dir. Each records its argv (one JSON line per call)
 * and answers `get deployment ... -o json` with the canned deployment; an argv containing `failOn`
 * fails with `failStderr` and exit 3. Nothing goes through a shell: the argv recorded is exactly
 * what shale passed.
 */
export interface FakeTools {
  /** The directory holding the fakes; put it first on PATH. */
  dir: string;
  /** An environment with PATH = dir only (plus whatever `extra` adds). */
  env: (extra?: Record<string, string>) => NodeJS.ProcessEnv;
  /** Every call so far, in order: the program and its argv. */
  calls: () => Promise<{ tool: string; argv: string[] }[]>;
}

/** The answer of `kubectl get deployment NAME -o json` for a deployment with these containers. */
export const deploymentJson = (name: string, containers: readonly string[]): string =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { template: { spec: { containers: containers.map((c) => ({ name: c, image: `old/${c}:1` })) } } },
  });

// CommonJS: the temp dir has no package.json saying "module".
const SCRIPT = (tool: string): string => `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ tool: ${JSON.stringify(tool)}, argv }) + '\\n');
const failOn = process.env.FAKE_FAIL_ON;
if (failOn && argv.join(' ').includes(failOn)) {
  process.stderr.write(process.env.FAKE_FAIL_STDERR || 'failed');
  process.exit(3);
}
if (${JSON.stringify(tool)} === 'kubectl' && argv[0] === 'get' && argv[1] === 'deployment') {
  const answer = process.env.FAKE_DEPLOYMENT;
  if (!answer) {
    process.stderr.write('Error from server (NotFound): deployments.apps "' + argv[2] + '" not found\\n');
    process.exit(1);
  }
  process.stdout.write(fs.readFileSync(answer, 'utf8'));
} else if (argv[0] === 'set') {
  process.stdout.write('deployment.apps/' + argv[2].split('/')[1] + ' image updated\\n');
} else if (argv[0] === 'rollout') {
  process.stdout.write('deployment "x" successfully rolled out\\n');
}
`;

/** Writes the fakes; `deployment` (JSON text) is what `get deployment` answers, else NotFound. */
export async function fakeTools(deployment?: string): Promise<FakeTools> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-fake-tools-'));
  const log = join(dir, 'calls.jsonl');
  await writeFile(log, '');
  for (const tool of ['kubectl', 'az']) {
    await writeFile(join(dir, tool), SCRIPT(tool));
    await chmod(join(dir, tool), 0o755);
  }
  const answer = join(dir, 'deployment.json');
  if (deployment !== undefined) await writeFile(answer, deployment);
  return {
    dir,
    env: (extra = {}) => ({ PATH: dir, FAKE_LOG: log, ...(deployment !== undefined ? { FAKE_DEPLOYMENT: answer } : {}), ...extra }),
    calls: async () =>
      (await readFile(log, 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] }),
  };
}
