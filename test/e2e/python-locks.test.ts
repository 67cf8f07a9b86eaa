// End to end: one app locked three ways (requirements.txt with hashes, PEP 751 pylock.toml,
// uv.lock) from the same real wheels. The TOML locks name each wheel's file and hash, so no
// index or find-links is configured for them. All three give the same image, byte for byte,
// and it imports every locked package with the image's python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRegistryWithBase } from './support/setup.js';
import { podmanRun, removeImages } from './support/podman.js';
import { ensureRepackedWheels } from './support/wheels.js';
import { shaleJson } from './support/shale.js';

const ctx = useRegistryWithBase();

interface Pinned {
  name: string;
  version: string;
  sha256: string;
  wheel: string;
}

const norm = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, '-');

/** The fixture's requirements.txt lines, with each package's wheel file. */
async function pins(dir: string, requirements: string): Promise<Pinned[]> {
  const files = await readdir(dir);
  return (await readFile(requirements, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('=='))
    .map((l) => {
      const m = /^(\S+)==(\S+) --hash=sha256:([0-9a-f]{64})/.exec(l) ?? assert.fail(`unexpected line ${l}`);
      const [, name = '', version = '', sha256 = ''] = m;
      const wheel = files.find((f) => f.endsWith('.whl') && norm(f.split('-')[0] ?? '') === norm(name)) ?? assert.fail(`no wheel for ${name}`);
      return { name, version, sha256, wheel };
    });
}

function pylock(ps: Pinned[]): string {
  let out = 'lock-version = "1.0"\ncreated-by = "shale e2e"\nrequires-python = ">=3.11"\n';
  for (const p of ps) {
    out += `\n[[packages]]\nname = "${p.name}"\nversion = "${p.version}"\n[[packages.wheels]]\nname = "${p.wheel}"\npath = "wheels/${p.wheel}"\nhashes = { sha256 = "${p.sha256}" }\n`;
  }
  out += '\n[[packages]]\nname = "locks-app"\ndirectory = { path = "." }\n';
  return out;
}

/** uv.lock: the project depends on requests only; requests brings the rest (the graph is walked). */
function uvLock(ps: Pinned[]): string {
  let out =
    'version = 1\nrevision = 2\nrequires-python = ">=3.11"\n\n[[package]]\nname = "locks-app"\nversion = "0.1.0"\nsource = { virtual = "." }\ndependencies = [{ name = "requests" }]\n';
  for (const p of ps) {
    const deps = norm(p.name) === 'requests' ? ps.filter((q) => q !== p).map((q) => `{ name = "${norm(q.name)}" }`) : [];
    // A Windows-only edge the walk must skip, as uv writes for real packages.
    if (norm(p.name) === 'requests') deps.push(`{ name = "colorama", marker = "sys_platform == 'win32'" }`);
    out += `\n[[package]]\nname = "${norm(p.name)}"\nversion = "${p.version}"\nsource = { registry = "wheels" }\n`;
    if (deps.length) out += `dependencies = [${deps.join(', ')}]\n`;
    out += `wheels = [{ path = "${p.wheel}", hash = "sha256:${p.sha256}" }]\n`;
  }
  out += '\n[[package]]\nname = "colorama"\nversion = "0.4.6"\nsource = { registry = "https://pypi.org/simple" }\n';
  return out;
}

test('requirements.txt, pylock.toml and uv.lock of the same app give the same image, which imports every package', async () => {
  const set = await ensureRepackedWheels(['requests', 'certifi', 'idna', 'charset-normalizer', 'urllib3']);
  const ps = await pins(set.dir, set.requirements);
  assert.equal(ps.length, 5);
  const digests: Record<string, string> = {};
  const ref = (kind: string) => `${ctx.reg.host}/demo/locks-${kind}:v1`;
  for (const kind of ['requirements', 'pylock', 'uv'] as const) {
    const dir = await mkdtemp(join(tmpdir(), `shale-lock-${kind}-`));
    await mkdir(join(dir, 'wheels'));
    for (const p of ps) await copyFile(join(set.dir, p.wheel), join(dir, 'wheels', p.wheel));
    await writeFile(join(dir, 'main.py'), 'import requests\nprint(requests.__version__)\n');
    let keys: string;
    if (kind === 'requirements') {
      await copyFile(set.requirements, join(dir, 'requirements.txt'));
      keys = 'lock = "requirements.txt"\nfind-links = ["wheels"]\nno-index = true\n';
    } else if (kind === 'pylock') {
      await writeFile(join(dir, 'pylock.toml'), pylock(ps));
      keys = 'lock = "pylock.toml"\n';
    } else {
      await writeFile(join(dir, 'uv.lock'), uvLock(ps));
      keys = 'lock = "uv.lock"\n';
    }
    // Only main.py goes into the app layer, so the three images can be compared whole.
    await writeFile(
      join(dir, 'shale.toml'),
      `name = "locks"\nbase = "python:3.11-slim"\npython = "3.11"\nentrypoint = ["python3", "main.py"]\napp = ["main.py"]\n${keys}`,
    );
    const out = await shaleJson(['build', dir, '--push', ref(kind)], ctx.env);
    digests[kind] = out.digest;
  }
  assert.equal(digests['pylock'], digests['requirements'], 'pylock.toml gives the requirements.txt image');
  assert.equal(digests['uv'], digests['requirements'], 'uv.lock gives the requirements.txt image');
  try {
    const r = await podmanRun(
      ref('uv'),
      [
        '-c',
        'import importlib.metadata as m, requests, certifi, idna, charset_normalizer, urllib3; print(sorted(f"{d.metadata[\'Name\'].lower()}=={d.version}" for d in m.distributions() if (d.read_text("INSTALLER") or "").strip() == "shale"))',
      ],
      { entrypoint: ['python3'] },
    );
    const want = ps.map((p) => `'${p.name.toLowerCase()}==${p.version}'`).sort();
    for (const w of want) assert.ok(r.stdout.includes(w.replace(/-/g, '_')) || r.stdout.includes(w), `${w} in ${r.stdout}`);
  } finally {
    await removeImages(ref('uv'));
  }
});
