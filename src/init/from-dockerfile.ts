/**
 * A starter `[tool.shale]` from what a Dockerfile says (`shale init` when the project has one):
 * FROM → base and platform, WORKDIR, ENV, EXPOSE, USER, ENTRYPOINT/CMD, COPY/ADD → app entries,
 * `pip install -r` → the lock and index keys. What has no key yet, or cannot be carried over
 * (other RUN steps, apt packages, HEALTHCHECK), is listed in the notes, never dropped silently.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, normalize, posix } from 'node:path';
import type { DockerfileFacts } from './dockerfile.js';
import { userKeys } from './user-keys.js';
import { DEFAULT_LOCK_FILES } from '../python/dependencies.js';
import { exists } from './files.js';

/** Variables a Dockerfile sets for its own build (a venv on PATH, pip's knobs), not for the app. */
const BUILD_ONLY_ENV = /^(PATH|VIRTUAL_ENV|PIP_[A-Z_]+|POETRY_[A-Z_]+|UV_[A-Z_]+|DEBIAN_FRONTEND|PYTHONDONTWRITEBYTECODE)$/;

/** The project file a Dockerfile's image path came from, through its COPY lines (`/code/requirements.txt` → `requirements.txt`). */
function projectPathOf(imagePath: string, facts: DockerfileFacts, workdir: string): string | undefined {
  const abs = imagePath.startsWith('/') ? imagePath : posix.join(workdir, imagePath);
  for (const c of facts.copies) {
    if (c.from !== undefined) continue;
    const dest = c.dest.startsWith('/') ? c.dest : posix.join(workdir, c.dest);
    for (const src of c.sources) {
      const name = posix
        .normalize(src)
        .replace(/^\.\/?/, '')
        .replace(/\/$/, '');
      if (dest === abs || (dest.endsWith('/') && posix.join(dest, posix.basename(name)) === abs)) return name || '.';
      if (posix.join(dest, posix.basename(name)) === abs) return name;
      if (abs.startsWith(`${dest.replace(/\/$/, '')}/`)) return posix.join(name, abs.slice(dest.replace(/\/$/, '').length + 1));
    }
  }
  return undefined;
}

/**
 * A command with the Dockerfile's own install prefixes taken out: shale installs into the image's
 * python, whose scripts are on PATH, so `/opt/venv/bin/uvicorn` is `uvicorn` and
 * `/opt/venv/bin/python` is `python3`. Shell strings (`/bin/sh -c ...`) are rewritten the same way.
 */
export function withoutPrefixes(cmd: string[], prefixes: readonly string[]): string[] {
  const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return cmd.map((word, i) => {
    if (i > 0 && !(cmd[0] === '/bin/sh' && cmd[1] === '-c' && i === 2)) return word;
    let out = word;
    for (const p of prefixes) {
      out = out.replace(new RegExp(`(^|[\\s;&|(\`'"])${esc(p)}/bin/python(?:3(?:\\.\\d+)?)?(?=$|[\\s;&|)\`'"])`, 'g'), '$1python3');
      out = out.replace(new RegExp(`(^|[\\s;&|(\`'"])${esc(p)}/bin/`, 'g'), '$1');
    }
    return out;
  });
}

/**
 * A COPY source's project paths: itself when it has no wildcard; the sorted matches of a `*` / `?`
 * pattern in its last part (`*.py`, `config/*.yaml`), as Docker expands them; undefined for other
 * patterns (`**`, `[...]`, a wildcard in a directory part).
 */
async function expandGlob(dir: string, src: string): Promise<string[] | undefined> {
  if (!/[*?[]/.test(src)) return [src];
  const rel = posix.normalize(src).replace(/^\.\//, '');
  const parent = posix.dirname(rel);
  const pattern = posix.basename(rel);
  if (/[*?[]/.test(parent) || /[[\]]/.test(pattern) || pattern.includes('**')) return undefined;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  const names = await readdir(join(dir, parent)).catch(() => [] as string[]);
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => (parent === '.' ? n : posix.join(parent, n)));
}

/** The keys a Dockerfile gives, and notes on what it led to and what it could not carry over. */
export async function configFromDockerfile(dir: string, facts: DockerfileFacts): Promise<{ config: Record<string, unknown>; notes: string[] }> {
  const notes: string[] = [];
  const f = facts.file;
  const config: Record<string, unknown> = { base: facts.base };
  notes.push(`base "${facts.base}" from ${f}'s FROM${facts.platform ? ` (platform ${facts.platform})` : ''}`);
  if (facts.platform) config.platforms = [facts.platform];
  const py = /^(?:.*\/)?python:(3\.\d+)/.exec(facts.base)?.[1];
  if (!py) notes.push(`${facts.base} is not an official python image: shale reads the version of its python3 from its layers`);
  const workdir = facts.workdir ?? '/app';
  config.workdir = workdir;
  if (!facts.workdir) notes.push(`${f} sets no WORKDIR: /app`);
  const env = Object.fromEntries(Object.entries(facts.env).filter(([k]) => !BUILD_ONLY_ENV.test(k)));
  const dropped = Object.keys(facts.env).filter((k) => BUILD_ONLY_ENV.test(k));
  if (dropped.length)
    notes.push(
      `left out ENV ${dropped.join(', ')}: ${dropped.length > 1 ? 'they serve' : 'it serves'} the Dockerfile's own build (a venv, pip), ` +
        "and shale installs into the image's python",
    );
  if (facts.ports.length) config.ports = facts.ports;

  // The command: ENTRYPOINT and CMD as the Dockerfile has them.
  if (facts.entrypoint) config.entrypoint = withoutPrefixes(facts.entrypoint, facts.prefixes);
  if (facts.cmd) config[facts.entrypoint ? 'cmd' : 'entrypoint'] = facts.entrypoint ? facts.cmd : withoutPrefixes(facts.cmd, facts.prefixes);
  if (!facts.entrypoint && !facts.cmd) notes.push(`${f} has no CMD or ENTRYPOINT: the entry point is guessed from the project's files`);
  if (facts.prefixes.length) {
    const written = facts.entrypoint ? [config.entrypoint, config.cmd] : [undefined, config.entrypoint];
    const rewritten = JSON.stringify(written) !== JSON.stringify([facts.entrypoint, facts.cmd]);
    notes.push(
      `${f} installs packages into ${facts.prefixes.join(', ')}; shale installs them into the image's python, its scripts on PATH` +
        (rewritten ? ' (the command is rewritten to match)' : ''),
    );
  }

  // Files: COPY/ADD from the project (not from other stages), minus what pip consumed.
  const consumed = new Set(facts.pip.requirements.map((r) => projectPathOf(r, facts, workdir)).filter((x): x is string => x !== undefined));
  const app: unknown[] = [];
  for (const c of facts.copies) {
    if (c.from !== undefined) {
      notes.push(
        `${f}:${c.line}: COPY --from=${c.from} ${c.sources.join(' ')} ${c.dest}: what another stage or image made; shale installs the packages itself`,
      );
      continue;
    }
    const sources: string[] = [];
    for (const src of c.sources) {
      const matched = await expandGlob(dir, src);
      if (matched === undefined || /^https?:/.test(src))
        notes.push(`TODO: ${f}:${c.line}: ${src} (a URL or pattern) is not an app entry; list the files in app by hand`);
      else if (!matched.length) notes.push(`TODO: ${f}:${c.line}: ${src} matches nothing in ${dir}; left out of app`);
      else sources.push(...matched);
    }
    for (const src of sources) {
      const rel =
        normalize(src)
          .replace(/^\.\/?/, '')
          .replace(/\/$/, '') || '.';
      if (consumed.has(rel)) continue;
      const dest = c.dest.startsWith('/') ? c.dest : posix.join(workdir, c.dest);
      const isDir = await stat(join(dir, rel)).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!(await exists(join(dir, rel)))) {
        notes.push(`TODO: ${f}:${c.line}: ${src} is not in ${dir}; left out of app`);
        continue;
      }
      // shale copies a directory's contents into workdir, or a file into workdir/<name>, as COPY does.
      // (WORKDIR made the directory, so a file copied to it lands inside it, as with Docker.)
      if (posix.normalize(dest).replace(/\/$/, '') === workdir.replace(/\/$/, '')) app.push(rel);
      else app.push({ from: rel, to: isDir ? dest.replace(/(.)\/+$/, '$1') : c.dest.endsWith('/') ? posix.join(dest, basename(rel)) : dest });
    }
    if (c.chown) notes.push(`${f}:${c.line}: --chown=${c.chown}: app files stay root-owned and readable to every user in shale's image`);
  }
  // With the whole project in the workdir, files also copied there by name are in it already.
  const whole = app.includes('.') ? app.filter((a) => a === '.' || typeof a !== 'string') : app;
  if (whole.length) config.app = [...new Set(whole)];
  else notes.push(`${f} copies nothing from the project: app = ["."]`);

  // Dependencies: the requirements file pip reads, its index options.
  const req = facts.pip.requirements.map((r) => projectPathOf(r, facts, workdir) ?? basename(r));
  const lock: string[] = [];
  for (const r of req) if (await exists(join(dir, r))) lock.push(r);
  let byDefault: string | undefined;
  for (const l of DEFAULT_LOCK_FILES) if (byDefault === undefined && (await exists(join(dir, l)))) byDefault = l;
  if (lock[0]) {
    // Written unless the build would find that file by itself anyway.
    if (lock[0] !== byDefault) config.lock = lock[0];
    notes.push(`lock: ${lock[0]} (${f}'s pip install -r)`);
    if (lock.length > 1) notes.push(`TODO: ${f} installs from ${lock.join(', ')}; shale reads one lock: make ${lock[0]} include the others with -r lines`);
  } else if (facts.pip.project) notes.push(`${f} installs the project itself (pip install .): its [project].dependencies are resolved`);
  const made = req.filter((r) => !lock.includes(r));
  if (made.length)
    notes.push(`${f}'s pip install -r ${made.join(' ')}: not in the project (made inside the image); the build reads ${byDefault ?? '[project].dependencies'}`);
  for (const { tool, where } of facts.lockInstallers) {
    const own = { poetry: 'poetry.lock', uv: 'uv.lock', pipenv: 'Pipfile.lock', pdm: 'pdm.lock' }[tool];
    if ((tool === 'poetry' || tool === 'uv') && (await exists(join(dir, own)))) {
      if (!lock[0] && byDefault !== own) config.lock = own;
      notes.push(`lock: ${own} (${where}), installed as ${tool} would`);
    } else if (tool === 'poetry' || tool === 'uv')
      notes.push(`TODO: ${where}: the project has no ${own}; run \`${tool} lock\` so the build installs what ${tool} would`);
    else {
      const exportCommand = tool === 'pipenv' ? 'pipenv requirements > requirements.txt' : 'pdm export -o requirements.txt';
      notes.push(`TODO: ${where}: shale does not read ${own}; export it (\`${exportCommand}\`)`);
    }
  }
  if (facts.pip.indexUrl) config['index-url'] = facts.pip.indexUrl;
  if (facts.pip.extraIndexUrls.length) config['extra-index-url'] = facts.pip.extraIndexUrls;
  // find-links: a project directory (or URL) carries over; a directory in the image (an earlier
  // stage's `pip wheel -w /wheels`) does not: shale gets those wheels where that stage did.
  const links: string[] = [];
  const built: string[] = [];
  for (const l of facts.pip.findLinks) {
    const local = /^[a-z][a-z0-9+.-]*:\/\//i.test(l) ? l : projectPathOf(l, facts, workdir);
    if (local !== undefined && (local.includes('://') || (await exists(join(dir, local))))) links.push(local);
    else built.push(l);
  }
  if (links.length) config['find-links'] = links;
  if (built.length) notes.push(`${f}'s --find-links ${built.join(' ')}: wheels built inside the image; shale gets them from the index or find-links`);
  if (facts.pip.noIndex && links.length) config['no-index'] = true;
  else if (facts.pip.noIndex) notes.push(`${f}'s --no-index (with wheels built inside the image) is left out: shale needs the index to get them`);
  if (facts.pip.packages.length) notes.push(`TODO: ${f} also runs pip install ${facts.pip.packages.join(' ')}: add them to ${lock[0] ?? 'requirements.txt'}`);
  const byPath = facts.pip.localFiles.filter((p) => !built.some((b) => p.startsWith(`${b.replace(/\/$/, '')}/`)));
  if (byPath.length)
    notes.push(
      `TODO: ${f} installs wheel files by path (${byPath.join(' ')}): put them in a find-links directory and name them in ${lock[0] ?? 'requirements.txt'}`,
    );

  // The user (created as the Dockerfile creates it) and the directories it chowns for it.
  const copiedFiles = new Set<string>();
  for (const p of facts.chowned) {
    const rel = p.startsWith('/') ? projectPathOf(p, facts, workdir) : undefined;
    if (
      rel !== undefined &&
      (await stat(join(dir, rel)).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      copiedFiles.add(posix.normalize(p));
  }
  const run = userKeys(facts, workdir, copiedFiles);
  if (run.user !== undefined) config.user = run.user;
  if (run.writable) config.writable = run.writable;
  notes.push(...run.notes);
  notes.push(...aptKeys(facts, config));
  for (const u of facts.unmapped) notes.push(`not carried over: ${u}`);
  if (Object.keys(env).length) config.env = env;
  if (Object.keys(facts.labels).length) config.labels = facts.labels;
  return { config, notes };
}

/** Compilers and build tools: a Dockerfile installs them to build wheels, which shale never does in the image. */
const BUILD_TOOLS = /^(gcc|g\+\+|cc|clang|make|cmake|build-essential|pkg-config|pkgconf|autoconf|automake|libtool|gcc-\d+|g\+\+-\d+)$/;

/**
 * `system-packages` from the final stage's `apt-get install` lines (a version with a wildcard
 * dropped: shale installs exact versions or the index's newest), leaving out build tools; what
 * build stages install is not carried over. Notes say which is which.
 */
function aptKeys(facts: DockerfileFacts, config: Record<string, unknown>): string[] {
  const f = facts.file;
  const notes: string[] = [];
  const runtime: string[] = [];
  const tools: string[] = [];
  const odd: string[] = [];
  for (const word of new Set(facts.aptPackages)) {
    const w = /[*?]/.test(word) ? word.replace(/=.*$/, '') : word;
    if (!/^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/.test(w)) odd.push(word);
    else if (BUILD_TOOLS.test(w.replace(/=.*$/, ''))) tools.push(w);
    else if (!runtime.includes(w)) runtime.push(w);
  }
  if (runtime.length) {
    if (/alpine/i.test(facts.base))
      notes.push(
        `TODO: ${f} installs Debian packages (${runtime.join(', ')}) on an Alpine base; shale installs Debian packages only: use a Debian-based base with system-packages`,
      );
    else {
      config['system-packages'] = runtime;
      notes.push(`system-packages from ${f}'s apt-get install: ${runtime.join(', ')} (unpacked from the base's signed Debian archive; nothing runs apt)`);
    }
  }
  if (tools.length)
    notes.push(
      `left out ${tools.join(', ')}: ${f} installs them to compile; shale installs wheels, nothing is compiled in the image (add them to system-packages if the app runs them)`,
    );
  if (odd.length) notes.push(`TODO: ${f} installs Debian packages shale cannot read (${odd.join(' ')}); list them in system-packages`);
  const built = [...new Set(facts.builderAptPackages)];
  if (built.length)
    notes.push(`not carried over: ${f}'s build stages install Debian packages (${built.join(', ')}); shale installs wheels, the image needs none of them`);
  return notes;
}
