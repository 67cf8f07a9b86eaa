import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { DEFAULT_LOCK_FILES } from '../python/dependencies.js';
import { readDockerfile } from './dockerfile.js';
import { guessEntryPoint } from './entry-point.js';
import { configFromDockerfile } from './from-dockerfile.js';
import { formatSection } from './toml-write.js';
import { InputError } from '../errors.js';
import { exists, readText } from './files.js';

/** A starter `[tool.shale]` section and what it was inferred from. */
export interface StarterConfig {
  /** The keys of [tool.shale], in the order they are written. */
  config: Record<string, unknown>;
  /** One line per decision: what was found and what it led to. */
  notes: string[];
  /** pyproject.toml when the project has one (the section is added there), else shale.toml. */
  file: string;
  /** What it could not decide, written as `# TODO:` comments in the section. */
  todos: string[];
}

/** Options of `shale init`. */
export interface InitOptions {
  /** The Dockerfile to read (`-f`); default Dockerfile or Containerfile in DIR when there is one. */
  dockerfile?: string;
}

/** An image name from a project name: lowercase letters, digits and single dashes. */
export const imageName = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'app';

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

async function lockFile(dir: string, project: Record<string, unknown> | undefined, notes: string[]): Promise<string | undefined> {
  for (const f of DEFAULT_LOCK_FILES) {
    if (await exists(join(dir, f))) {
      notes.push(`lock: ${f} (found by default; no lock key needed)`);
      return f;
    }
  }
  if (Array.isArray(project?.['dependencies'])) notes.push('no lock: [project].dependencies are resolved at each build (`shale lock` pins them)');
  else notes.push(`no lock found (${DEFAULT_LOCK_FILES.join(', ')}) and no [project].dependencies: the image gets no third-party packages until you add one`);
  return undefined;
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
export async function detectStarter(dirArg: string, opts: InitOptions = {}): Promise<StarterConfig> {
  const dir = resolve(dirArg);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
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
    throw new InputError(
      'SHALE_ALREADY_CONFIGURED',
      `${dir} already has a shale configuration (${tool?.shale !== undefined ? 'pyproject.toml [tool.shale]' : 'shale.toml'}); ` +
        'edit it, or remove it to start over',
    );
  }
  const notes: string[] = [];
  const todos: string[] = [];
  const project = pyproject.project as Record<string, unknown> | undefined;
  const name = imageName(typeof project?.name === 'string' ? project.name : basename(dir));
  notes.push(`name "${name}" from ${typeof project?.name === 'string' ? '[project].name' : 'the directory name'}`);
  const file = pyprojectText ? pyprojectPath : join(dir, 'shale.toml');
  const dockerfile = opts.dockerfile !== undefined ? resolve(opts.dockerfile) : await firstExisting(dir, ['Dockerfile', 'Containerfile']);
  if (dockerfile !== undefined) {
    const text = await readFile(dockerfile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new InputError('SHALE_NO_DOCKERFILE', `cannot read ${dockerfile}: ${e.code ?? e.message}; pass the Dockerfile with -f FILE`);
    });
    let facts;
    try {
      // Named as the project knows it (Dockerfile, docker/Dockerfile.prod) in every note.
      const shown = relative(dir, dockerfile);
      facts = readDockerfile(text, shown.startsWith('..') || isAbsolute(shown) ? dockerfile : shown);
    } catch (e) {
      throw new InputError('SHALE_BAD_DOCKERFILE', `${(e as Error).message}; shale init reads the final stage of a Dockerfile`);
    }
    const fromDocker = await configFromDockerfile(dir, facts);
    for (const n of fromDocker.notes) (n.startsWith('TODO: ') ? todos : notes).push(n.replace(/^TODO: /, ''));
    const config: Record<string, unknown> = { name, ...fromDocker.config };
    if (config.entrypoint === undefined) {
      const lock = typeof config.lock === 'string' ? config.lock : await lockFile(dir, project, []);
      const guess = await guessEntryPoint({ dir, deps: await dependencyText(dir, lock, project), pyproject }, notes, todos);
      if (guess) config.entrypoint = guess;
    }
    await addLibs(dir, config, notes);
    return { config, notes, file, todos };
  }
  const python = await pythonVersion(dir, project, notes);
  const lock = await lockFile(dir, project, notes);
  const found = await guessEntryPoint({ dir, deps: await dependencyText(dir, lock, project), pyproject }, notes, todos);
  const config: Record<string, unknown> = {
    name,
    base: `python:${python}-slim`,
    platforms: ['linux/amd64'],
    workdir: '/app',
    ...(found ? { entrypoint: found } : {}),
    env: { PORT: '8000' },
    ports: [8000],
  };
  await addLibs(dir, config, notes);
  return { config, notes, file, todos };
}

/** The text the entry point guess looks for server names in: the lock or requirements file and [project].dependencies. */
async function dependencyText(dir: string, lock: string | undefined, project: Record<string, unknown> | undefined): Promise<string> {
  return [lock ? await readText(join(dir, lock)) : '', JSON.stringify(project?.dependencies ?? [])].join('\n');
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) if (await exists(join(dir, n))) return join(dir, n);
  return undefined;
}

/** Local libraries (libs/*, packages/* with a pyproject.toml) get explicit layers pip_deps → libs → app. */
async function addLibs(dir: string, config: Record<string, unknown>, notes: string[]): Promise<void> {
  const libs = await localLibs(dir);
  if (!libs.length) return;
  notes.push(`local libraries ${libs.join(', ')}: explicit layers pip_deps → libs → app`);
  config.layers = [
    { name: 'pip_deps', packages: 'all' },
    { name: 'libs', paths: libs },
  ];
}

/**
 * Writes a starter: appended as `[tool.shale]` to pyproject.toml (the rest of the file is left
 * as it was), or as a new shale.toml (never replacing one). Returns the TOML written.
 */
export async function writeStarter(starter: StarterConfig): Promise<string> {
  const inPyproject = basename(starter.file) === 'pyproject.toml';
  const text = formatSection(inPyproject ? 'tool.shale' : undefined, starter.config, starter.todos);
  if (inPyproject) await appendFile(starter.file, `\n${text}`);
  else await writeFile(starter.file, text, { flag: 'wx' });
  return text;
}
