import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, basename } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type * as z from 'zod/mini';
import { InputError } from '../errors.js';
import { parsePlatform, type Platform } from '../oci/types.js';
import { CA_BUNDLE_PATH } from '../python/ca-certs.js';
import { parseLibc } from '../python/libc.js';
import { DEFAULT_LOCK_FILES } from '../python/dependencies.js';
import { shaleConfigSchema, type ShaleConfig } from './schema.js';
import type { AppSource, BuildSpec, ExplicitLayer } from './spec.js';


/**
 * Reads `[tool.shale]` from DIR/pyproject.toml (or the top level of DIR/shale.toml), validates
 * every key and resolves paths against DIR. All config errors surface here, naming file and key.
 */
export async function loadBuildSpec(dir: string): Promise<BuildSpec> {
  const projectDir = resolve(dir);
  const st = await stat(projectDir).catch(() => undefined);
  if (!st) throw new InputError('SHALE_NO_PROJECT', `project directory ${projectDir} does not exist; pass the directory of your app to \`shale build DIR\``);
  if (!st.isDirectory()) throw new InputError('SHALE_NO_PROJECT', `${projectDir} is not a directory; pass the directory of your app to \`shale build DIR\``);
  const { file, table, where } = await readRawConfig(projectDir);
  const parsed = shaleConfigSchema.safeParse(table);
  if (!parsed.success) throw configError(file, where, parsed.error);
  return toSpec(projectDir, file, where, parsed.data);
}

interface RawConfig { file: string; table: unknown; where: string }

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
    text = await readFile(file, 'utf8');
  } catch (e) {
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

function insideProject(projectDir: string, file: string, key: string, p: string): string {
  const abs = resolve(projectDir, p);
  const rel = relative(projectDir, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new InputError('SHALE_PATH_OUTSIDE', `${file}: \`${key}\` path "${p}" is outside the project directory ${projectDir}; only files inside the project can go into the image`);
  }
  return abs;
}

async function toSpec(projectDir: string, file: string, where: string, c: ShaleConfig): Promise<BuildSpec> {
  const platforms: Platform[] = (c.platforms ?? ['linux/amd64']).map((s, i) => {
    const p = parsePlatform(s);
    if (!p) throw new InputError('SHALE_CONFIG_INVALID', `${file}: \`${keyPath(where, ['platforms', i])}\`: "${s}" is not a platform; write it like "linux/amd64" or "linux/arm64"`);
    return p;
  });
  const workdir = c.workdir ?? '/app';
  const app: AppSource[] = [];
  for (const [i, item] of (c.app ?? ['.']).entries()) {
    const from = typeof item === 'string' ? item : item.from;
    const abs = insideProject(projectDir, file, keyPath(where, ['app', i]), from);
    const st = await stat(abs).catch(() => undefined);
    if (!st) throw new InputError('SHALE_APP_MISSING', `${file}: \`${keyPath(where, ['app', i])}\` path "${from}" does not exist in ${projectDir}`);
    const kind = st.isDirectory() ? 'dir' : 'file';
    const to = typeof item === 'string' ? (kind === 'dir' ? workdir : `${workdir.replace(/\/$/, '')}/${basename(abs)}`) : item.to.startsWith('/') ? item.to : `${workdir.replace(/\/$/, '')}/${item.to}`;
    app.push({ from: abs, to, kind });
  }
  let lock: string | undefined;
  if (c.lock !== undefined) {
    lock = insideProject(projectDir, file, keyPath(where, ['lock']), c.lock);
    if (!(await stat(lock).catch(() => undefined))) throw new InputError('SHALE_LOCK_MISSING', `${file}: \`${keyPath(where, ['lock'])}\` file "${c.lock}" does not exist in ${projectDir}`);
  } else {
    for (const name of DEFAULT_LOCK_FILES) {
      const st = await stat(join(projectDir, name)).catch(() => undefined);
      if (st?.isFile()) {
        lock = join(projectDir, name);
        break;
      }
    }
  }
  const layers: ExplicitLayer[] | undefined = c.layers?.map((l, i) => {
    const out: ExplicitLayer = { name: l.name };
    if (l.packages !== undefined) out.packages = l.packages;
    if (l.paths !== undefined) out.paths = l.paths.map((p, j) => insideProject(projectDir, file, keyPath(where, ['layers', i, 'paths', j]), p));
    return out;
  });
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
    user: c.user ?? '',
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
  if (layers !== undefined) spec.layers = layers;
  if (c['max-layers'] !== undefined) spec.maxLayers = c['max-layers'];
  if (c['compile-bytecode'] === true) spec.compileBytecode = true;
  if (c['ca-certs'] === true) {
    spec.caCerts = true;
    // The layer puts the bundle where Debian and Alpine keep it; SSL_CERT_FILE makes OpenSSL read
    // it even on bases whose OpenSSL looks elsewhere. A user's own SSL_CERT_FILE wins.
    spec.env = { SSL_CERT_FILE: CA_BUNDLE_PATH, ...spec.env };
  }
  return spec;
}
