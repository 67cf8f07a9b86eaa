// The CI recipes of docs/ci.md, run as a CI runner would run them (no CI service here): each
// recipe's shell steps, extracted from the document by the comment above it, run with bash in a
// fresh checkout with an empty HOME (so an empty shale cache) against a real registry that wants
// credentials, twice: the second run is a new commit tag with nothing changed, and must build and
// upload no layer, reusing everything through the registry alone. `npm`, `kubectl` and `az` are
// fakes that record their argv (`az acr login --expose-token` answers the registry's password);
// the deploy must name the image by the digest the build printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/cache.js';
import { ensureBaseImage } from './support/base-image.js';
import { run } from './support/exec.js';
import { startRegistry, type Registry } from './support/registry.js';
import { shaleBin } from './support/shale.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { deploymentJson } from '../unit/deploy/fake-tools.js';

/** One recipe as docs/ci.md gives it: its shell steps and the variables its CI sets. */
interface Recipe {
  name: string;
  shell: string;
  env: string[];
}

/**
 * The recipes of docs/ci.md. Each is the ```yaml block after a comment
 * `<!-- ci-recipe: NAME; shell: KEY; env: KEY -->`: the shell steps are the block scalar (`KEY: |`)
 * or the list (`KEY:` then `- step` lines) under the shell key; the variables are the keys of the
 * mapping under the env key.
 */
export function recipes(markdown: string): Recipe[] {
  const out: Recipe[] = [];
  const re = /<!-- ci-recipe: ([\w-]+); shell: ([\w-]+); env: ([\w-]+) -->\n```yaml\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(re)) {
    const [, name, shellKey, envKey, yaml] = m as unknown as [string, string, string, string, string];
    const lines = yaml.split('\n');
    out.push({ name, shell: shellOf(lines, shellKey, name), env: envOf(lines, envKey, name) });
  }
  return out;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** The lines under `key:` that are indented deeper than it (blank lines kept), and the key's indent. */
function under(lines: readonly string[], key: string, recipe: string): { body: string[]; indent: number; scalar: boolean } {
  const at = lines.findIndex((l) => new RegExp(`^\\s*(- )?${key}:\\s*(\\|)?\\s*(#.*)?$`).test(l));
  assert.ok(at >= 0, `${recipe}: no "${key}:" line`);
  const indent = indentOf(lines[at]!) + (/^\s*- /.test(lines[at]!) ? 2 : 0);
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() !== '' && indentOf(l) <= indent && !(l.trimStart().startsWith('- ') && indentOf(l) === indent)) break;
    body.push(l);
  }
  return { body, indent, scalar: /\|\s*(#.*)?$/.test(lines[at]!) };
}

function shellOf(lines: readonly string[], key: string, recipe: string): string {
  const { body, scalar } = under(lines, key, recipe);
  const text = body.filter((l) => l.trim() !== '');
  assert.ok(text.length > 0, `${recipe}: "${key}" holds no steps`);
  if (scalar) {
    const cut = Math.min(...text.map(indentOf));
    return text.map((l) => l.slice(cut)).join('\n');
  }
  return text
    .map((l) => {
      const m = /^\s*- (.*)$/.exec(l);
      assert.ok(m, `${recipe}: "${l}" under "${key}" is not a list item`);
      return m[1]!;
    })
    .join('\n');
}

function envOf(lines: readonly string[], key: string, recipe: string): string[] {
  const { body } = under(lines, key, recipe);
  const inner = Math.min(...body.filter((l) => l.trim() !== '').map(indentOf));
  return body
    .filter((l) => l.trim() !== '' && indentOf(l) === inner)
    .map((l) => {
      const m = /^\s*([A-Z_][A-Z0-9_]*):/.exec(l);
      assert.ok(m, `${recipe}: "${l}" under "${key}" is not a VARIABLE: value line`);
      return m[1]!;
    });
}

const USER = '00000000-0000-0000-0000-000000000000';
const PASSWORD = 'ci-recipe-token';

/** Fakes of the CI machine's tools: npm (installs nothing), kubectl, az; and `shale` as npm would have installed it. */
async function ciTools(): Promise<{ dir: string; log: string; calls: () => Promise<{ tool: string; argv: string[] }[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-ci-tools-'));
  const log = join(dir, 'calls.jsonl');
  await writeFile(log, '');
  await writeFile(join(dir, 'deployment.json'), deploymentJson('web', ['web']));
  const fake = (tool: string): string => `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ tool: ${JSON.stringify(tool)}, argv }) + '\\n');
const line = argv.join(' ');
if (${JSON.stringify(tool)} === 'npm') process.exit(line === 'install -g shale' ? 0 : 1);
if (${JSON.stringify(tool)} === 'az' && argv[0] === 'acr') {
  if (!line.includes('--expose-token')) process.exit(1);
  process.stdout.write(${JSON.stringify(PASSWORD)} + '\\n');
} else if (argv[0] === 'get' && argv[1] === 'deployment') {
  process.stdout.write(fs.readFileSync(${JSON.stringify(join(dir, 'deployment.json'))}, 'utf8'));
}
`;
  for (const tool of ['npm', 'kubectl', 'az']) {
    await writeFile(join(dir, tool), fake(tool));
    await chmod(join(dir, tool), 0o755);
  }
  await writeFile(join(dir, 'shale'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(shaleBin())} "$@"\n`);
  await chmod(join(dir, 'shale'), 0o755);
  return {
    dir,
    log,
    calls: async () =>
      (await readFile(log, 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] }),
  };
}

/** The app a CI checks out: packages from wheels (find-links), the host's CA bundle, the app. */
async function checkout(wheels: string, requirements: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shale-ci-checkout-'));
  await writeFile(join(dir, 'requirements.txt'), requirements);
  await writeFile(join(dir, 'main.py'), 'import six, yaml\nprint("ok", six.__version__, yaml.safe_dump({"a": 1}).strip())\n');
  await writeFile(
    join(dir, 'shale.toml'),
    `name = "web"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\nfind-links = ["${wheels}"]\nno-index = true\nca-certs = true\n`,
  );
  return dir;
}

interface BuildJson {
  digest: string;
  reference?: string;
  layers: { name: string; source: string; reason: string }[];
  pushed: { bytes: number; blobs: number };
}

test('docs/ci.md recipes: a fresh runner under a new commit tag reuses every layer from the registry, and deploys by digest', async (t) => {
  const found = recipes(await readFile(join(repoRoot(), 'docs', 'ci.md'), 'utf8'));
  assert.deepEqual(
    found.map((r) => r.name),
    ['github-actions', 'gitlab-ci', 'azure-pipelines'],
  );
  const wheels = await ensureRepackedWheels(['six', 'PyYAML']);
  const requirements = await readFile(wheels.requirements, 'utf8');
  let reg: Registry | undefined;
  try {
    reg = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    await ensureBaseImage(reg.host, { creds: { user: USER, password: PASSWORD } });
    for (const recipe of found) {
      await t.test(recipe.name, async () => {
        assert.match(recipe.shell, /shale build \. --push "\$IMAGE:\$GIT_SHA" --json > build\.json/);
        const image = `${reg!.host}/ci/${recipe.name}`;
        // What each CI system would put in the variables the recipe names.
        const known: Record<string, string> = {
          IMAGE: image,
          SHALE_REGISTRY_HOST: reg!.host,
          SHALE_REGISTRY_USER: USER,
          SHALE_REGISTRY_PASSWORD: PASSWORD,
          ACR: 'myregistry',
        };
        const tools = await ciTools();
        const runs: BuildJson[] = [];
        for (const sha of ['1111111111111111111111111111111111111111', '2222222222222222222222222222222222222222']) {
          // A fresh runner: an empty HOME (so ~/.cache/shale is empty), nothing of this machine's caches or credentials.
          const env: Record<string, string | undefined> = {
            PATH: `${tools.dir}:/usr/local/bin:/usr/bin:/bin`,
            HOME: await mkdtemp(join(tmpdir(), 'shale-ci-home-')),
            SHALE_REGISTRY_MIRRORS: `docker.io=${reg!.host}`,
            SHALE_CACHE_DIR: undefined,
            XDG_CACHE_HOME: undefined,
            XDG_CONFIG_HOME: undefined,
            XDG_RUNTIME_DIR: undefined,
            DOCKER_CONFIG: undefined,
            REGISTRY_AUTH_FILE: undefined,
            SHALE_CONFIG: undefined,
          };
          for (const name of recipe.env) {
            const value = name === 'GIT_SHA' ? sha : known[name];
            assert.ok(value !== undefined, `${recipe.name} sets ${name}, which this test does not know how to fill`);
            env[name] = value;
          }
          const dir = await checkout(wheels.dir, requirements);
          const r = await run('bash', ['-e', '-o', 'pipefail', '-c', recipe.shell], { cwd: dir, env, allowFailure: true, timeoutMs: 5 * 60_000 });
          assert.equal(r.exitCode, 0, `${recipe.name} @${sha.slice(0, 4)}:\n${r.stderr}`);
          const out = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildJson;
          assert.equal(out.reference, `${image}:${sha}`);
          runs.push(out);

          // Deployed by the digest the build printed, never by the tag.
          const pinned = `${image}@${out.digest}`;
          const calls = await tools.calls();
          const deploy = calls.filter((c) => (c.tool === 'kubectl' && c.argv[0] === 'set') || (c.tool === 'az' && c.argv[0] === 'containerapp')).at(-1);
          assert.ok(deploy, `${recipe.name}: a deploy ran`);
          if (deploy.tool === 'kubectl') assert.deepEqual(deploy.argv, ['set', 'image', 'deployment/web', `web=${pinned}`]);
          else assert.deepEqual(deploy.argv, ['containerapp', 'update', '--name', 'web', '--resource-group', 'shop', '--image', pinned]);
          assert.ok(calls.some((c) => c.tool === 'npm' && c.argv.join(' ') === 'install -g shale'));
        }
        const [first, second] = runs as [BuildJson, BuildJson];
        const own = (b: BuildJson) => b.layers.filter((l) => l.source !== 'base');
        assert.ok(own(first).length >= 3 && own(first).every((l) => l.source === 'built'), JSON.stringify(own(first)));
        assert.equal(second.digest, first.digest);
        assert.deepEqual(
          own(second).filter((l) => l.source !== 'registry'),
          [],
          'the second run built nothing',
        );
        assert.ok(
          own(second).every((l) => l.reason.includes(`${image}:shale-cache, pushed with ${image}:1111`)),
          JSON.stringify(own(second)),
        );
        assert.deepEqual(second.pushed, { bytes: 0, blobs: 0 }, 'the second run uploaded no blob');
      });
    }
  } finally {
    await reg?.stop();
  }
});

// The extraction itself, on a recipe of each shape, so a change of docs/ci.md's layout fails here first.
test('ci recipe extraction: block scalars, lists and variable mappings', () => {
  const md = [
    '<!-- ci-recipe: a; shell: run; env: env -->',
    '```yaml',
    'steps:',
    '  - name: x',
    '    env:',
    '      IMAGE: i   # c',
    '      GIT_SHA: s',
    '    run: |',
    '      echo one',
    '',
    '      echo "two"',
    '  - name: after',
    '```',
    '<!-- ci-recipe: b; shell: script; env: variables -->',
    '```yaml',
    'job:',
    '  variables:',
    '    IMAGE: $X',
    '  script:',
    '    - echo a',
    '    - echo b',
    '  artifacts: {}',
    '```',
  ].join('\n');
  const [a, b] = recipes(md);
  assert.deepEqual(a, { name: 'a', shell: 'echo one\necho "two"', env: ['IMAGE', 'GIT_SHA'] });
  assert.deepEqual(b, { name: 'b', shell: 'echo a\necho b', env: ['IMAGE'] });
});
