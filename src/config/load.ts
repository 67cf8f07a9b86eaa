import { readFile, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, basename, dirname, relative } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type * as z from 'zod/mini';
import { InputError } from '../errors.js';
import { checkScratch, isScratch, withScratchPackages } from './scratch.js';
import { parsePlatform, type Platform } from '../oci/types.js';
import { CA_BUNDLE_PATH } from '../python/ca-certs.js';
import { parseLibc } from '../base/libc.js';
import { DEFAULT_LOCK_FILES } from '../python/dependencies.js';
import { followLink, isInside } from '../plan/host-paths.js';
import { parseLayerCacheSetting } from '../publish/layer-cache-setting.js';
import { parseUser, parseWritable } from './run-as.js';
import { shaleConfigSchema, type ShaleConfig } from './schema.js';
import { SYSTEM_LAYER, systemGroups, type AppSource, type BuildSpec, type ExplicitLayer, type SystemGroup } from './spec.js';

/**
 * Reads `[tool.shale]` from DIR/pyproject.toml (or the top level of DIR/shale.toml), validates
 * every key and resolves paths against DIR. All config errors surface here, naming file and key.
 */
export async function loadBuildSpec(dir: string): Promise<BuildSpec> {
  const given = resolve(dir);
  const st = await stat(given).catch(() => undefined);
  if (!st) throw new InputError('SHALE_NO_PROJECT', `project directory ${given} does not exist; pass the directory of your app to \`shale build DIR\``);
  if (!st.isDirectory()) throw new InputError('SHALE_NO_PROJECT', `${given} is not a directory; pass the directory of your app to \`shale build DIR\``);
  // Symlinks resolved, so "inside the project" compares real paths: a path inside it that is a
  // symlink out of it is caught, and a project reached through a symlink still works.
  const projectDir = await realpath(given);
  const { file, table, where } = await readRawConfig(projectDir);
  const parsed = shaleConfigSchema.safeParse(table);
  if (!parsed.success) throw configError(file, where, parsed.error);
  return toSpec(projectDir, file, where, parsed.data);
}

interface RawConfig {
  file: string;
  table: unknown;
  where: string;
}

/** Finds the config: shale.toml wins when both exist and pyproject has no [tool.shale]. */
export async function readRawConfig(projectDir: string): Promise<RawConfig> {
  const pyproject = join(projectDir, 'pyproject.toml');
  const shaleToml = join(projectDir, 'shale.toml');
  const py = await readTomlIfExists(pyproject);
  const tool = py && typeof py.tool === 'object' && py.tool !== null ? (py.tool as Record<string, unknown>) : undefined;
  if (tool && 'shale' in tool) return { file: pyproject, table: tool.shale, where: '[tool.shale]' };
  const sh = await readTomlIfExists(shaleToml);
  if (sh) return { file: shaleToml, table: sh, where: 'shale.toml' };
  throw new InputError(
    'SHALE_NO_CONFIG',
    `no shale configuration in ${projectDir}: add a [tool.shale] section to pyproject.toml or create shale.toml (\`shale init ${projectDir}\` writes a starter)`,
  );
}

async function readTomlIfExists(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    // The config itself may not lead out of the project either: a parse error would print a host file's lines.
    const real = await realpath(file);
    const rel = relative(await realpath(dirname(file)), real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new InputError(
        'SHALE_PATH_OUTSIDE',
        `${file} is a symlink to ${real}, outside the project directory ${dirname(file)}; put the configuration file itself in the project`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError('SHALE_CONFIG_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      throw new InputError('SHALE_CONFIG_TOML', `${file}:${e.line}:${e.column}: invalid TOML: ${first.replace(/^Invalid TOML document: /, '')}`);
    }
    throw new InputError('SHALE_CONFIG_TOML', `${file}: invalid TOML: ${(e as Error).message}`);
  }
}

function keyPath(where: string, path: PropertyKey[]): string {
  let out = where === 'shale.toml' ? '' : where;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || where;
}

function configError(file: string, where: string, err: z.core.$ZodError): InputError {
  const lines = err.issues.slice(0, 5).map((i) => {
    if (i.code === 'unrecognized_keys') {
      const keys = i.keys.map((k) => `\`${k}\``).join(', ');
      return `unknown key ${keys} in ${keyPath(where, i.path)}; check the spelling (known keys are listed in the README's config guide)`;
    }
    const at = keyPath(where, i.path);
    if (i.code === 'invalid_type') {
      const missing = i.message.includes('received undefined');
      return missing ? `missing required key \`${at}\`` : `\`${at}\`: expected ${i.expected}, ${i.message.replace(/^Invalid input: expected \w+, /, '')}`;
    }
    return `\`${at}\`: ${i.message}`;
  });
  return new InputError('SHALE_CONFIG_INVALID', `${file}: ${lines.join('; ')}`);
}

/**
 * The absolute path of `p` (relative to the project, as written in the config) with symlinks
 * followed, or undefined when nothing is there. It must stay inside the project directory, as
 * written and as resolved: a symlink out of the project would bring host files into the image
 * (or into an error message). `what` names the key for messages.
 */
async function insideProject(projectDir: string, file: string, what: string, p: string, hint = ''): Promise<string | undefined> {
  const abs = resolve(projectDir, p);
  if (!isInside(projectDir, abs)) {
    throw new InputError(
      'SHALE_PATH_OUTSIDE',
      `${file}: ${what} path "${p}" is outside the project directory ${projectDir}; only files inside the project can go into the image${hint}`,
    );
  }
  // Any component may be a symlink, not only the last: always resolve the whole path.
  const target = await readlink(abs).catch(() => p);
  const real = await followLink(abs, `${file}: ${what} path "${p}"`, target, 'point the key at a path inside the project');
  if (real === undefined) return undefined;
  if (!isInside(projectDir, real)) {
    throw new InputError(
      'SHALE_PATH_OUTSIDE',
      `${file}: ${what} path "${p}" resolves to ${real} (through a symlink), outside the project directory ${projectDir}; only files inside the project are read for the image: copy what you need into the project, or change the key${hint}`,
    );
  }
  return real;
}

/** A dangling symlink gets its own words: the path is there, what it points at is not. */
async function missingWhy(abs: string): Promise<string> {
  const target = await readlink(abs).catch(() => undefined);
  return target === undefined ? 'does not exist' : `is a symlink to "${target}", which does not exist`;
}

/** find-links entries written as relative paths are project paths; URLs and absolute paths name a wheel directory anywhere on purpose. */
const isProjectPath = (entry: string): boolean => !/^[a-z][a-z0-9+.-]*:/i.test(entry) && !isAbsolute(entry);

async function toSpec(projectDir: string, file: string, where: string, c: ShaleConfig): Promise<BuildSpec> {
  const platforms: Platform[] = (c.platforms ?? ['linux/amd64']).map((s, i) => {
    const p = parsePlatform(s);
    if (!p)
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `${file}: \`${keyPath(where, ['platforms', i])}\`: "${s}" is not a platform; write it like "linux/amd64" or "linux/arm64"`,
      );
    return p;
  });
  const workdir = c.workdir ?? '/app';
  const app: AppSource[] = [];
  for (const [i, item] of (c.app ?? ['.']).entries()) {
    const from = typeof item === 'string' ? item : item.from;
    const key = keyPath(where, ['app', i]);
    const abs = await insideProject(projectDir, file, `\`${key}\``, from);
    if (abs === undefined)
      throw new InputError('SHALE_APP_MISSING', `${file}: \`${key}\` path "${from}" ${await missingWhy(resolve(projectDir, from))} in ${projectDir}`);
    const st = await stat(abs);
    const kind = st.isDirectory() ? 'dir' : 'file';
    // The name in the image is the one written, not the one a symlink leads to.
    const name = basename(resolve(projectDir, from));
    const to =
      typeof item === 'string'
        ? kind === 'dir'
          ? workdir
          : `${workdir.replace(/\/$/, '')}/${name}`
        : item.to.startsWith('/')
          ? item.to
          : `${workdir.replace(/\/$/, '')}/${item.to}`;
    app.push({ from: abs, to, kind });
  }
  let lock: string | undefined;
  if (c.lock !== undefined) {
    const key = keyPath(where, ['lock']);
    lock = await insideProject(projectDir, file, `\`${key}\``, c.lock);
    if (lock === undefined)
      throw new InputError('SHALE_LOCK_MISSING', `${file}: \`${key}\` file "${c.lock}" ${await missingWhy(resolve(projectDir, c.lock))} in ${projectDir}`);
  } else {
    for (const name of DEFAULT_LOCK_FILES) {
      // Found by name, so also checked: a requirements.txt that is a symlink out of the project is not read.
      const found = await insideProject(projectDir, file, `the default lock (no \`lock\` key; found ${name})`, name);
      if (found && (await stat(found)).isFile()) {
        lock = found;
        break;
      }
    }
  }
  for (const [i, entry] of (c['find-links'] ?? []).entries()) {
    const hint = '; to use a wheel directory outside the project on purpose, write its absolute path';
    if (isProjectPath(entry)) await insideProject(projectDir, file, `\`${keyPath(where, ['find-links', i])}\``, entry, hint);
  }
  let layers: ExplicitLayer[] | undefined;
  const systemLayers: SystemGroup[] = [];
  if (c.layers) {
    layers = [];
    const names = new Set<string>();
    for (const [i, l] of c.layers.entries()) {
      if (names.has(l.name)) throw new InputError('SHALE_LAYER_NAME', `${file}: two layers are named "${l.name}"; layer names must be unique`);
      names.add(l.name);
      if (l['system-packages']) {
        if (l.packages !== undefined || l.paths !== undefined)
          throw new InputError(
            'SHALE_LAYER_MIXED',
            `${file}: \`${keyPath(where, ['layers', i])}\` (layer "${l.name}") has system-packages and ${l.packages !== undefined ? 'packages' : 'paths'}; ` +
              'Debian packages and Python code change at different rates, so give each its own layer',
          );
        systemLayers.push({ name: l.name, packages: l['system-packages'] });
        continue;
      }
      const out: ExplicitLayer = { name: l.name };
      if (l.packages !== undefined) out.packages = l.packages;
      if (l.paths !== undefined) {
        out.paths = [];
        for (const [j, p] of l.paths.entries()) {
          // A missing directory stays as written: installing the library names it (SHALE_LIB_MISSING).
          out.paths.push((await insideProject(projectDir, file, `\`${keyPath(where, ['layers', i, 'paths', j])}\``, p)) ?? resolve(projectDir, p));
        }
      }
      layers.push(out);
    }
  }
  const runAs = parseUser(file, keyPath(where, ['user']), c.user);
  const writable = parseWritable(file, keyPath(where, ['writable']), c.writable, runAs.account);
  const spec: BuildSpec = {
    projectDir,
    configFile: file,
    name: c.name,
    repository: c.domain ? `${c.domain}-${c.name}` : c.name,
    base: c.base,
    platforms,
    workdir,
    entrypoint: c.entrypoint ?? [],
    cmd: c.cmd ?? [],
    env: c.env ?? {},
    ports: c.ports ?? [],
    user: runAs.user,
    labels: c.labels ?? {},
    findLinks: c['find-links'] ?? [],
    noIndex: c['no-index'] ?? false,
    app,
    exclude: c.exclude ?? [],
    extras: c.extras ?? [],
    groups: c.groups ?? [],
  };
  if (c.domain !== undefined) spec.domain = c.domain;
  if (c['index-url'] !== undefined) spec.indexUrl = c['index-url'];
  if (c['extra-index-url'] !== undefined) spec.extraIndexUrls = c['extra-index-url'];
  if (c.python !== undefined) spec.python = c.python;
  if (c.libc !== undefined) {
    const libc = parseLibc(c.libc);
    if (libc) spec.libc = libc;
  }
  if (lock !== undefined) spec.lock = lock;
  if (runAs.account) spec.account = runAs.account;
  if (writable.length) spec.writable = writable;
  // Entries with only system-packages leave the Python packages' layering to shale.
  if (layers?.length) spec.layers = layers;
  if (c['max-layers'] !== undefined) spec.maxLayers = c['max-layers'];
  if (c['compile-bytecode'] === true) spec.compileBytecode = true;
  if (c['registry-cache'] !== undefined) spec.registryCache = parseLayerCacheSetting(`${file}: \`${keyPath(where, ['registry-cache'])}\``, c['registry-cache']);
  if (c['system-packages']?.length) spec.systemPackages = c['system-packages'];
  if (systemLayers.length) spec.systemLayers = systemLayers;
  checkLayerNames(file, c.layers ?? [], spec);
  if (c['apt-sources'] !== undefined) spec.aptSources = c['apt-sources'];
  if (c.distribution !== undefined) spec.distribution = c.distribution;
  checkScratch(file, keyPath(where, ['distribution']), spec);
  if (isScratch(spec)) withScratchPackages(spec);
  if (c['ca-certs'] === true) {
    spec.caCerts = true;
    // The layer puts the bundle where Debian and Alpine keep it; SSL_CERT_FILE makes OpenSSL read
    // it even on bases whose OpenSSL looks elsewhere. A user's own SSL_CERT_FILE wins.
    spec.env = { SSL_CERT_FILE: CA_BUNDLE_PATH, ...spec.env };
  }
  return spec;
}

/**
 * Names shale gives layers itself, which a `[[layers]]` entry may not take: the app, users and
 * ca-certs layers, `system` (the top-level system-packages), and `<name>-all` of every system
 * layer (its Architecture: all packages).
 */
function checkLayerNames(file: string, entries: readonly { name: string }[], spec: BuildSpec): void {
  const own = new Map<string, string>([
    ['app', 'the app layer'],
    ['users', 'the layer of `user` and `writable`'],
    ['ca-certs', 'the layer of `ca-certs`'],
  ]);
  if (spec.systemPackages?.length) own.set(SYSTEM_LAYER, 'the layer of the top-level system-packages');
  for (const g of systemGroups(spec)) own.set(`${g.name}-all`, `the Architecture: all packages of system layer "${g.name}"`);
  for (const e of entries) {
    const what = own.get(e.name);
    if (what) throw new InputError('SHALE_LAYER_NAME', `${file}: a [[layers]] entry is named "${e.name}", the name of ${what}; rename the entry`);
  }
}
