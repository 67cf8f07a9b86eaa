import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { InputError } from '../errors.js';

/** A starter `[tool.shale]` section and what it was inferred from. */
export interface StarterConfig {
  /** The keys of [tool.shale], in the order they are written. */
  config: Record<string, unknown>;
  /** One line per decision: what was found and what it led to. */
  notes: string[];
  /** pyproject.toml when the project has one (the section is added there), else shale.toml. */
  file: string;
}

const exists = (p: string) => stat(p).then(() => true, () => false);
const readText = (p: string) => readFile(p, 'utf8').catch(() => '');

/** An image name from a project name: lowercase letters, digits and single dashes. */
export const imageName = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'app';

async function pythonVersion(dir: string, project: Record<string, unknown> | undefined, notes: string[]): Promise<string> {
  const pinned = (await readText(join(dir, '.python-version'))).trim().match(/^(3\.\d+)/)?.[1];
  if (pinned) {
    notes.push(`Python ${pinned} from .python-version`);
    return pinned;
  }
  const requires = typeof project?.['requires-python'] === 'string' ? project['requires-python'] : '';
  const lower = /(?:>=|~=|==)\s*(3\.\d+)/.exec(requires)?.[1];
  if (lower) {
    notes.push(`Python ${lower} from requires-python = "${requires}"`);
    return lower;
  }
  notes.push('Python 3.12 (no .python-version or requires-python found)');
  return '3.12';
}

async function lockFile(dir: string, notes: string[]): Promise<string | undefined> {
  for (const f of ['uv.lock', 'pylock.toml', 'requirements.txt']) {
    if (await exists(join(dir, f))) {
      notes.push(`lock: ${f}`);
      return f;
    }
  }
  notes.push('no lock found (uv.lock, pylock.toml, requirements.txt): the image gets no third-party packages until you add one');
  return undefined;
}

/** Guesses how the service starts, from its dependencies and its entry module. */
async function entrypoint(dir: string, deps: string, notes: string[]): Promise<string[]> {
  const candidates = ['main.py', 'app.py', 'server.py', 'wsgi.py', 'asgi.py'];
  const found: { file: string; text: string }[] = [];
  for (const f of candidates) if (await exists(join(dir, f))) found.push({ file: f, text: await readText(join(dir, f)) });
  const module = (f: string) => f.replace(/\.py$/, '');
  const asgi = found.find((f) => /FastAPI\(|Starlette\(/.test(f.text));
  if (asgi && /\b(uvicorn|fastapi)\b/i.test(deps)) {
    notes.push(`ASGI app in ${asgi.file}: served with uvicorn`);
    return ['python3', '-m', 'uvicorn', `${module(asgi.file)}:app`, '--host', '0.0.0.0', '--port', '8000'];
  }
  const wsgi = found.find((f) => /Flask\(/.test(f.text));
  if (wsgi && /\bgunicorn\b/i.test(deps)) {
    notes.push(`Flask app in ${wsgi.file}: served with gunicorn`);
    return ['gunicorn', '--bind', '0.0.0.0:8000', `${module(wsgi.file)}:app`];
  }
  if (wsgi) {
    notes.push(`Flask app in ${wsgi.file}: served with flask run (add gunicorn to the lock for production)`);
    return ['python3', '-m', 'flask', '--app', module(wsgi.file), 'run', '--host', '0.0.0.0', '--port', '8000'];
  }
  if (found[0]) {
    notes.push(`entrypoint: python3 ${found[0].file}`);
    return ['python3', found[0].file];
  }
  notes.push('no main.py or app.py found: set entrypoint by hand');
  return ['python3', 'main.py'];
}

/** Local source packages: directories under libs/ or packages/ with a pyproject.toml. */
async function localLibs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const parent of ['libs', 'packages']) {
    const names = await readdir(join(dir, parent)).catch(() => [] as string[]);
    for (const n of names.sort()) if (await exists(join(dir, parent, n, 'pyproject.toml'))) out.push(`${parent}/${n}`);
  }
  return out;
}

/**
 * Looks at a project and proposes its `[tool.shale]` section (`shale init`): name, base and
 * Python version, lock, how the service starts, and explicit layers when it has local libraries.
 * A project that already has a shale configuration is an error: init never overwrites one.
 */
export async function detectStarter(dirArg: string): Promise<StarterConfig> {
  const dir = resolve(dirArg);
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new InputError('SHALE_NO_PROJECT', `project directory ${dir} does not exist; pass the directory of your app to \`shale init DIR\``);
  }
  const pyprojectPath = join(dir, 'pyproject.toml');
  const pyprojectText = await readText(pyprojectPath);
  let pyproject: Record<string, unknown> = {};
  if (pyprojectText) {
    try {
      pyproject = parseToml(pyprojectText) as Record<string, unknown>;
    } catch (e) {
      throw new InputError('SHALE_CONFIG_TOML', `${pyprojectPath}: invalid TOML (${(e as Error).message.split('\n')[0]}); fix it before running shale init`);
    }
  }
  const tool = pyproject.tool as Record<string, unknown> | undefined;
  if (tool?.shale !== undefined || (await exists(join(dir, 'shale.toml')))) {
    throw new InputError('SHALE_ALREADY_CONFIGURED', `${dir} already has a shale configuration (${tool?.shale !== undefined ? 'pyproject.toml [tool.shale]' : 'shale.toml'}); edit it, or remove it to start over`);
  }
  const notes: string[] = [];
  const project = pyproject.project as Record<string, unknown> | undefined;
  const name = imageName(typeof project?.name === 'string' ? project.name : basename(dir));
  notes.push(`name "${name}" from ${typeof project?.name === 'string' ? '[project].name' : 'the directory name'}`);
  const python = await pythonVersion(dir, project, notes);
  const lock = await lockFile(dir, notes);
  const deps = [lock ? await readText(join(dir, lock)) : '', JSON.stringify(project?.dependencies ?? [])].join('\n');
  const config: Record<string, unknown> = {
    name,
    base: `python:${python}-slim`,
    platforms: ['linux/amd64'],
    workdir: '/app',
    entrypoint: await entrypoint(dir, deps, notes),
    env: { PORT: '8000' },
    ports: [8000],
  };
  if (lock) config.lock = lock;
  const libs = await localLibs(dir);
  if (libs.length) {
    notes.push(`local libraries ${libs.join(', ')}: explicit layers pip_deps → libs → app`);
    config.layers = [
      { name: 'pip_deps', packages: 'all' },
      { name: 'libs', paths: libs },
    ];
  }
  return { config, notes, file: pyprojectText ? pyprojectPath : join(dir, 'shale.toml') };
}

/**
 * Writes a starter: appended as `[tool.shale]` to pyproject.toml (the rest of the file is left
 * as it was), or as a new shale.toml (never replacing one). Returns the TOML written.
 */
export async function writeStarter(starter: StarterConfig): Promise<string> {
  const inPyproject = basename(starter.file) === 'pyproject.toml';
  const text = stringifyToml(inPyproject ? { tool: { shale: starter.config } } : starter.config);
  if (inPyproject) await appendFile(starter.file, `\n${text}`);
  else await writeFile(starter.file, text, { flag: 'wx' });
  return text;
}
