/**
 * A starter `[tool.shale]` from what a Dockerfile says (`shale init` when the project has one):
 * FROM → base and platform, WORKDIR, ENV, EXPOSE, USER, ENTRYPOINT/CMD, COPY/ADD → app entries,
 * `pip install -r` → the lock and index keys. What has no key yet, or cannot be carried over
 * (other RUN steps, apt packages, HEALTHCHECK), is listed in the notes, never dropped silently.
 */
import { stat } from 'node:fs/promises';
import { basename, join, normalize, posix } from 'node:path';
import type { DockerfileFacts } from './dockerfile.js';

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Variables a Dockerfile sets for its own build (a venv on PATH, pip's knobs), not for the app. */
const BUILD_ONLY_ENV = /^(PATH|VIRTUAL_ENV|PIP_[A-Z_]+|POETRY_[A-Z_]+|UV_[A-Z_]+|DEBIAN_FRONTEND|PYTHONDONTWRITEBYTECODE)$/;

/** The project file a Dockerfile's image path came from, through its COPY lines (`/code/requirements.txt` → `requirements.txt`). */
function projectPathOf(imagePath: string, facts: DockerfileFacts, workdir: string): string | undefined {
  const abs = imagePath.startsWith('/') ? imagePath : posix.join(workdir, imagePath);
  for (const c of facts.copies) {
    if (c.from !== undefined) continue;
    const dest = c.dest.startsWith('/') ? c.dest : posix.join(workdir, c.dest);
    for (const src of c.sources) {
      const name = posix.normalize(src).replace(/^\.\/?/, '').replace(/\/$/, '');
      if (dest === abs || (dest.endsWith('/') && posix.join(dest, posix.basename(name)) === abs)) return name || '.';
      if (posix.join(dest, posix.basename(name)) === abs) return name;
      if (abs.startsWith(`${dest.replace(/\/$/, '')}/`)) return posix.join(name, abs.slice(dest.replace(/\/$/, '').length + 1));
    }
  }
  return undefined;
}

/** The keys a Dockerfile gives, and notes on what it led to and what it could not carry over. */
export async function configFromDockerfile(dir: string, facts: DockerfileFacts): Promise<{ config: Record<string, unknown>; notes: string[] }> {
  const notes: string[] = [];
  const f = basename(facts.file);
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
  if (dropped.length) notes.push(`left out ENV ${dropped.join(', ')}: they serve the Dockerfile's own build (a venv, pip), and shale installs into the image's python`);
  if (facts.ports.length) config.ports = facts.ports;

  // The command: ENTRYPOINT and CMD as the Dockerfile has them.
  if (facts.entrypoint) config.entrypoint = facts.entrypoint;
  if (facts.cmd) config[facts.entrypoint ? 'cmd' : 'entrypoint'] = facts.cmd;
  if (!facts.entrypoint && !facts.cmd) notes.push(`TODO: ${f} has no CMD or ENTRYPOINT; set entrypoint by hand`);

  // Files: COPY/ADD from the project (not from other stages), minus what pip consumed.
  const consumed = new Set(facts.pip.requirements.map((r) => projectPathOf(r, facts, workdir)).filter((x): x is string => x !== undefined));
  const app: unknown[] = [];
  for (const c of facts.copies) {
    if (c.from !== undefined) {
      notes.push(`${f}:${c.line}: COPY --from=${c.from} ${c.sources.join(' ')} ${c.dest}: what a builder stage made; shale installs the packages itself`);
      continue;
    }
    for (const src of c.sources) {
      const rel = normalize(src).replace(/^\.\/?/, '').replace(/\/$/, '') || '.';
      if (consumed.has(rel)) continue;
      if (/[*?[]/.test(rel) || /^https?:/.test(rel)) {
        notes.push(`TODO: ${f}:${c.line}: ${src} (a pattern or URL) is not an app entry; list the files in app by hand`);
        continue;
      }
      const dest = c.dest.startsWith('/') ? c.dest : posix.join(workdir, c.dest);
      const isDir = await stat(join(dir, rel)).then((s) => s.isDirectory(), () => false);
      if (!(await exists(join(dir, rel)))) {
        notes.push(`TODO: ${f}:${c.line}: ${src} is not in ${dir}; left out of app`);
        continue;
      }
      // shale copies a directory's contents into workdir, or a file into workdir/<name>, as COPY does.
      if (posix.normalize(dest).replace(/\/$/, '') === workdir.replace(/\/$/, '') && (isDir || c.dest.endsWith('/') || c.dest === '.')) app.push(rel);
      else app.push({ from: rel, to: c.dest.endsWith('/') && !isDir ? posix.join(dest, basename(rel)) : dest });
    }
    if (c.chown) notes.push(`${f}:${c.line}: --chown=${c.chown}: app files stay root-owned and readable to every user in shale's image`);
  }
  if (app.length) config.app = app;
  else notes.push(`${f} copies nothing from the project: app = ["."]`);

  // Dependencies: the requirements file pip reads, its index options.
  const req = facts.pip.requirements.map((r) => projectPathOf(r, facts, workdir) ?? basename(r));
  const lock = [];
  for (const r of req) if (await exists(join(dir, r))) lock.push(r);
  if (lock[0]) {
    if (lock[0] !== 'requirements.txt' || lock.length > 1) config.lock = lock[0];
    notes.push(`lock: ${lock[0]} (${f}'s pip install -r)${lock.length > 1 ? `; TODO: it reads ${lock.length} files; shale reads one: merge them with -r lines` : ''}`);
  } else if (facts.pip.project) notes.push(`${f} installs the project itself (pip install .): its [project].dependencies are resolved`);
  if (facts.pip.indexUrl) config['index-url'] = facts.pip.indexUrl;
  if (facts.pip.extraIndexUrls.length) config['extra-index-url'] = facts.pip.extraIndexUrls;
  if (facts.pip.findLinks.length) config['find-links'] = facts.pip.findLinks.map((l) => projectPathOf(l, facts, workdir) ?? l);
  if (facts.pip.noIndex) config['no-index'] = true;
  if (facts.pip.packages.length) notes.push(`TODO: ${f} also runs pip install ${facts.pip.packages.join(' ')}: add them to ${lock[0] ?? 'requirements.txt'}`);

  // The user: a numeric one works on any base; a name the Dockerfile creates is written by its ids.
  if (facts.user) {
    const [name, group] = facts.user.split(':');
    const created = facts.users.find((u) => u.name === name);
    if (/^\d+(:\d+)?$/.test(facts.user)) config.user = facts.user;
    else if (created?.uid !== undefined) {
      config.user = `${created.uid}:${created.gid ?? created.uid}`;
      notes.push(`user ${facts.user} is created by ${f} (uid ${created.uid}); the image runs as ${config.user as string}, which needs no entry in /etc/passwd`);
    } else {
      config.user = facts.user;
      notes.push(`user "${facts.user}"${group ? '' : ''}: it must exist in the base image`);
    }
  }
  if (facts.chowned.length) notes.push(`TODO: ${f} makes ${facts.chowned.join(', ')} writable for its user; shale's image files are root-owned: mount a volume there, or use /tmp`);
  if (facts.aptPackages.length) notes.push(`TODO: ${f} installs Debian packages (${[...new Set(facts.aptPackages)].join(', ')}); shale does not run apt: use a base that has them`);
  for (const u of facts.unmapped) notes.push(`not carried over: ${u}`);
  if (Object.keys(env).length) config.env = env;
  if (Object.keys(facts.labels).length) config.labels = facts.labels;
  return { config, notes };
}
