/**
 * Reads a Dockerfile (or Containerfile) the way `shale init` needs it: the final stage's base,
 * workdir, env, ports, user, command and copies, the pip and apt lines of the stages that build
 * it, and every instruction it cannot map, so nothing is dropped silently. Only the Dockerfile
 * syntax people write is handled (line continuations, comments, JSON and shell forms, `ARG` and
 * `ENV` substitution, `AS` stages, `--from`, `--chown`); nothing is run.
 */

/** One instruction as written: its keyword, arguments and the line it starts on. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** A user a RUN line creates (`useradd`, `adduser`; its group's id from `groupadd -g` when named by `-g NAME`). */
export interface CreatedUser {
  name: string;
  uid?: number;
  gid?: number;
  home?: string;
}

/** What `pip install` lines ask for. */
export interface PipInstall {
  requirements: string[];
  packages: string[];
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
  noIndex: boolean;
  /** `pip install .` or `-e .`: the project itself (its pyproject dependencies). */
  project: boolean;
  /** Wheel files or globs installed by path (`/wheels/*`, `dist/app-1.0-py3-none-any.whl`). */
  localFiles: string[];
  /** `--prefix X`, and `~/.local` for `--user`. */
  prefixes: string[];
}

/** A COPY or ADD of the final stage. */
export interface Copy {
  sources: string[];
  dest: string;
  /** `--from=stage`: copied out of another stage, not from the project. */
  from?: string;
  chown?: string;
  line: number;
}

/** The final stage of a Dockerfile, as shale can use it. */
export interface DockerfileFacts {
  file: string;
  base: string;
  /** `FROM --platform=...` of the final stage, when it names a fixed one. */
  platform?: string;
  workdir?: string;
  env: Record<string, string>;
  ports: number[];
  user?: string;
  users: CreatedUser[];
  entrypoint?: string[];
  cmd?: string[];
  copies: Copy[];
  pip: PipInstall;
  /** What the final stage's `apt-get install` lines name. */
  aptPackages: string[];
  /** What build stages' `apt-get install` lines name (compilers for wheels shale does not need to build). */
  builderAptPackages: string[];
  /** Directories a RUN line creates and hands to a user (`mkdir -p X && chown U X`). */
  chowned: string[];
  /**
   * Where the Dockerfile's own pip put packages and scripts: venvs (`python -m venv X`,
   * `VIRTUAL_ENV`), `pip install --prefix X`, `--user` (~/.local), and `X/bin` added to PATH.
   * shale installs into the image's python instead, so `X/bin/uvicorn` is `uvicorn` there.
   */
  prefixes: string[];
  labels: Record<string, string>;
  /** Instructions shale does not map, "Dockerfile:12: RUN python manage.py collectstatic". */
  unmapped: string[];
  /** Installs from a lock by its own tool (`poetry install`, `uv sync`, `pipenv install`, `pdm install`). */
  lockInstallers: { tool: LockInstaller; where: string }[];
}

/** Joins continuation lines and drops comments; keeps the first line number of each instruction. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let buf = '';
  let start = 0;
  lines.forEach((raw, i) => {
    // Comments and blank lines inside a continued instruction are skipped, as BuildKit does.
    if (/^\s*#/.test(raw) || (buf && raw.trim() === '')) return;
    if (!buf) start = i + 1;
    const cont = /\\\s*$/.test(raw);
    buf += `${cont ? raw.replace(/\\\s*$/, '') : raw}${cont ? ' ' : ''}`;
    if (cont) return;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(buf);
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buf = '';
  });
  if (buf.trim()) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(buf);
    if (m?.[1]) out.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: start });
  }
  return out;
}

/** `["a", "b"]` (exec form) → its strings; undefined when it is shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits a shell command into words when it is a plain command (quotes allowed, no `$`, pipes,
 * `&&`, redirections or globs): then it can run without a shell. Undefined otherwise.
 */
export function shellWords(cmd: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (const ch of cmd.trim()) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else if (/[|&;<>()$`*?\\]/.test(ch)) return undefined;
    else cur += ch;
  }
  if (quote) return undefined;
  if (cur || any) out.push(cur);
  return out.length ? out : undefined;
}

/** A command as shale's config takes it: exec form as is; shell form split, or through /bin/sh -c. */
export function commandOf(args: string): string[] {
  return execForm(args) ?? shellWords(args) ?? ['/bin/sh', '-c', args];
}

/** Replaces `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` from `vars` (unknown: empty, as Docker does). */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_all, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const v = vars[name];
      if (op === '-') return v ? v : (word ?? '');
      if (op === '+') return v ? (word ?? '') : '';
      return v ?? '';
    },
  );
}

/** `KEY=value KEY2="a b"` (or the legacy `KEY value`) → pairs. */
export function keyValues(args: string): [string, string][] {
  if (!/^[A-Za-z_][\w.-]*=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    return m?.[1] ? [[m[1], m[2] ?? '']] : [];
  }
  const out: [string, string][] = [];
  const re = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m = re.exec(args); m; m = re.exec(args)) {
    let v = m[2] ?? '';
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1] ?? '', v]);
  }
  return out;
}

/** Options (`--from=x --chown=y`) at the start of COPY/ADD/FROM arguments, and the rest. */
function flags(args: string): { flags: Record<string, string>; rest: string } {
  const out: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    out[m[1] ?? ''] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags: out, rest };
}

/** The words of a RUN line's commands, split at `&&`, `;` and `||`. */
function runCommands(args: string): string[][] {
  const shell = execForm(args)?.join(' ') ?? args;
  return shell
    .split(/&&|\|\||;|\n/)
    .map((c) => c.trim().split(/\s+/).filter(Boolean))
    .filter((w) => w.length > 0);
}

function readPip(words: string[], pip: PipInstall): void {
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    const next = (): string => words[++i] ?? '';
    const val = (name: string): string | undefined => (w === name ? next() : w.startsWith(`${name}=`) ? w.slice(name.length + 1) : undefined);
    let v: string | undefined;
    if ((v = val('-r') ?? val('--requirement')) !== undefined) pip.requirements.push(v);
    else if (w.startsWith('-r') && w.length > 2) pip.requirements.push(w.slice(2));
    else if ((v = val('-i') ?? val('--index-url')) !== undefined) pip.indexUrl = v;
    else if ((v = val('--extra-index-url')) !== undefined) pip.extraIndexUrls.push(v);
    else if ((v = val('-f') ?? val('--find-links')) !== undefined) pip.findLinks.push(v);
    else if (w === '--no-index') pip.noIndex = true;
    else if (w === '-e' || w === '--editable') {
      if (next() === '.') pip.project = true;
    } else if (w === '.' || w === './') pip.project = true;
    else if ((v = val('--prefix')) !== undefined) pip.prefixes.push(v);
    else if (w === '--user') pip.prefixes.push('~/.local');
    else if ((v = val('-c') ?? val('--constraint') ?? val('--target') ?? val('--root') ?? val('--cache-dir') ?? val('--trusted-host')) !== undefined) continue;
    else if ((v = val('-w') ?? val('--wheel-dir') ?? val('--src') ?? val('--progress-bar') ?? val('--platform') ?? val('--python-version')) !== undefined)
      continue;
    else if (w.startsWith('-')) continue;
    // A wheel file or a directory of them (`pip install /wheels/*` after a builder's `pip wheel`): the requirements' packages again.
    else if (/^[./~$]|\.whl$|[*?]/.test(w)) pip.localFiles.push(w);
    else pip.packages.push(w.replace(/^["']|["']$/g, ''));
  }
}

/** `useradd -u 1000 -m -d /home/app app`, `adduser --uid 1000 --disabled-password app`, `adduser -D -u 1000 app` (Alpine). */
function readUser(words: string[], groups: Map<string, number>): CreatedUser | undefined {
  const out: { name?: string; uid?: number; home?: string; group?: string } = {};
  const busybox = words[0] === 'adduser' && words.some((w) => w === '-D' || w === '-S');
  for (let i = 1; i < words.length; i++) {
    const w = words[i] ?? '';
    const next = (): string => (words[++i] ?? '').replace(/^["']|["']$/g, '');
    if (w === '-u' || w === '--uid') out.uid = Number(next());
    else if (w.startsWith('--uid=')) out.uid = Number(w.slice(6));
    // Busybox's adduser (Alpine): -g is the GECOS, -G the group.
    else if ((w === '-g' && !busybox) || w === '--gid' || w === '--ingroup' || (w === '-G' && busybox)) out.group = next();
    else if (w === '-G' || w === '--groups' || w === '--gecos' || w === '-c' || w === '--comment' || w === '-s' || w === '--shell' || w === '-g' || w === '-k')
      next();
    else if (w === '-d' || w === '--home' || w === '-h' || w === '--home-dir') out.home = next();
    else if (w.startsWith('-')) continue;
    else out.name = w.replace(/^["']|["']$/g, '');
  }
  if (!out.name || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(out.name)) return undefined;
  const u: CreatedUser = { name: out.name };
  if (out.uid !== undefined && Number.isInteger(out.uid)) u.uid = out.uid;
  const gid = out.group === undefined ? groups.get(out.name) : /^\d+$/.test(out.group) ? Number(out.group) : groups.get(out.group);
  if (gid !== undefined) u.gid = gid;
  if (out.home) u.home = out.home;
  return u;
}

/** `groupadd -g 1001 app`, `addgroup --gid 1001 app`, `addgroup -g 1001 -S app` (Alpine): the group's id. */
function readGroup(words: string[]): [string, number] | undefined {
  let gid: number | undefined;
  let name: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w === '-g' || w === '--gid') gid = Number(words[++i]);
    else if (w.startsWith('--gid=')) gid = Number(w.slice(6));
    else if (!w.startsWith('-')) name = w;
  }
  return name !== undefined && gid !== undefined && Number.isInteger(gid) ? [name, gid] : undefined;
}

/** A tool that installs a project from its own lock. */
export type LockInstaller = 'poetry' | 'uv' | 'pipenv' | 'pdm';

/** `poetry install`, `uv sync`, `pipenv install|sync`, `pdm install|sync` (also as `python -m poetry ...`). */
function lockInstaller(words: string[]): LockInstaller | undefined {
  const at = words.findIndex((w) => /(^|\/)(poetry|uv|pipenv|pdm)$/.test(w));
  const tool = /(poetry|uv|pipenv|pdm)$/.exec(words[at] ?? '')?.[1] as LockInstaller | undefined;
  const verb = words[at + 1];
  if (tool === 'uv') return verb === 'sync' ? tool : undefined;
  return tool !== undefined && (verb === 'install' || verb === 'sync') ? tool : undefined;
}

/** `python -m venv X`, `virtualenv X`, `uv venv X`: the venv's directory. */
function venvOf(words: string[]): string | undefined {
  const at = words.findIndex((w, j) => (w === 'venv' && (words[j - 1] === '-m' || /(^|\/)uv$/.test(words[j - 1] ?? ''))) || /(^|\/)virtualenv$/.test(w));
  if (at < 0) return undefined;
  return words.slice(at + 1).find((w) => !w.startsWith('-'));
}

/** Reads a Dockerfile's final stage (and the pip lines of the stages it copies from). */
export function readDockerfile(text: string, file = 'Dockerfile'): DockerfileFacts {
  const all = instructions(text);
  // Stages: ARGs before the first FROM are global (they may name the base).
  const globals: Record<string, string> = {};
  const stages: { name?: string; ins: Instruction[]; from: Instruction }[] = [];
  for (const ins of all) {
    if (ins.keyword === 'FROM') {
      const stage: { name?: string; ins: Instruction[]; from: Instruction } = { ins: [], from: ins };
      const as = /\s+AS\s+(\S+)\s*$/i.exec(ins.args)?.[1];
      if (as) stage.name = as.toLowerCase();
      stages.push(stage);
    } else if (!stages.length) {
      if (ins.keyword === 'ARG') for (const [k, v] of keyValues(ins.args.includes('=') ? ins.args : `${ins.args}=`)) globals[k] = v;
    } else stages[stages.length - 1]?.ins.push(ins);
  }
  const last = stages[stages.length - 1];
  if (!last) throw new Error(`${file} has no FROM instruction`);
  const where = (i: Instruction): string => `${file}:${i.line}`;
  const fromArgs = flags(last.from.args);
  let base = substitute(fromArgs.rest.replace(/\s+AS\s+\S+\s*$/i, '').trim(), globals);
  // A final stage FROM an earlier stage: its base is that stage's base (its settings too, below).
  const chain: typeof stages = [];
  for (let s: (typeof stages)[number] | undefined = last; s;) {
    chain.unshift(s);
    const parent = substitute(
      flags(s.from.args)
        .rest.replace(/\s+AS\s+\S+\s*$/i, '')
        .trim(),
      globals,
    ).toLowerCase();
    s = stages.find((x) => x.name === parent && x !== s);
    if (s)
      base = substitute(
        flags(s.from.args)
          .rest.replace(/\s+AS\s+\S+\s*$/i, '')
          .trim(),
        globals,
      );
  }
  const facts: DockerfileFacts = {
    file,
    base,
    env: {},
    ports: [],
    users: [],
    copies: [],
    aptPackages: [],
    builderAptPackages: [],
    chowned: [],
    labels: {},
    unmapped: [],
    prefixes: [],
    lockInstallers: [],
    pip: { requirements: [], packages: [], extraIndexUrls: [], findLinks: [], noIndex: false, project: false, localFiles: [], prefixes: [] },
  };
  const groups = new Map<string, number>();
  if (fromArgs.flags['platform'] && !fromArgs.flags['platform'].includes('$')) facts.platform = fromArgs.flags['platform'];
  const vars: Record<string, string> = { ...globals };
  const copiedFrom = new Set<string>();
  /** A RUN line: pip and apt installs, users, chowned directories; anything else is listed (final stage only). */
  const readRun = (i: Instruction, own: boolean): void => {
    for (const words of runCommands(substitute(i.args, vars))) {
      const tool = words[0] ?? '';
      // `pip install` and `pip wheel` (a builder making wheels for the final stage): requirements and index options.
      const pipAt = words.findIndex(
        (w, j) => (w === 'install' || w === 'wheel') && (/(^|\/)pip3?(\.\d+)?$/.test(words[j - 1] ?? '') || (words[j - 1] === 'pip' && words[j - 2] === '-m')),
      );
      const venv = venvOf(words);
      const installer = lockInstaller(words);
      if (pipAt >= 0) readPip(words.slice(pipAt + 1), facts.pip);
      else if (venv !== undefined) facts.prefixes.push(venv);
      else if (installer !== undefined) facts.lockInstallers.push({ tool: installer, where: `${where(i)}: RUN ${words.join(' ')}` });
      else if (/^(apt-get|apt)$/.test(tool) && words[1] === 'install')
        (own ? facts.aptPackages : facts.builderAptPackages).push(...words.slice(2).filter((w) => !w.startsWith('-')));
      else if (!own) continue;
      else if (/^(useradd|adduser)$/.test(tool)) {
        const u = readUser(words, groups);
        if (u) facts.users.push(u);
      } else if (/^(groupadd|addgroup)$/.test(tool)) {
        const g = readGroup(words);
        if (g) groups.set(...g);
      } else if (tool === 'chown')
        facts.chowned.push(
          ...words
            .slice(1)
            .filter((w) => !w.startsWith('-'))
            .slice(1),
        );
      // Package-manager housekeeping and directories (chown names them) carry nothing over.
      else if (!/^(apt-get|apt|rm|mkdir|true)$/.test(tool)) facts.unmapped.push(`${where(i)}: RUN ${words.join(' ')}`);
    }
  };
  // The pip lines of stages the final image copies from (a builder stage's venv or site-packages).
  for (const s of chain)
    for (const i of s.ins)
      if ((i.keyword === 'COPY' || i.keyword === 'ADD') && flags(i.args).flags['from']) copiedFrom.add(flags(i.args).flags['from']?.toLowerCase() ?? '');
  for (const s of stages) if (s.name && copiedFrom.has(s.name) && !chain.includes(s)) for (const i of s.ins) if (i.keyword === 'RUN') readRun(i, false);

  for (const s of chain) {
    for (const i of s.ins) {
      const args = i.args;
      switch (i.keyword) {
        case 'ARG':
          for (const [k, v] of keyValues(args.includes('=') ? args : `${args}=`)) if (!(k in vars) || v) vars[k] = substitute(v, vars);
          break;
        case 'ENV':
          for (const [k, v] of keyValues(args)) {
            const value = substitute(v, vars);
            vars[k] = value;
            facts.env[k] = value;
          }
          break;
        case 'WORKDIR': {
          const w = substitute(args, vars);
          facts.workdir = w.startsWith('/') ? w : `${(facts.workdir ?? '/').replace(/\/$/, '')}/${w}`;
          break;
        }
        case 'EXPOSE':
          for (const p of substitute(args, vars).split(/\s+/)) {
            const n = Number(p.split('/')[0]);
            if (Number.isInteger(n) && n > 0 && n < 65536 && !facts.ports.includes(n)) facts.ports.push(n);
          }
          break;
        case 'USER':
          facts.user = substitute(args, vars).trim();
          break;
        case 'CMD':
          facts.cmd = commandOf(args);
          break;
        case 'ENTRYPOINT':
          facts.entrypoint = commandOf(args);
          // Docker: a later ENTRYPOINT resets the CMD of the base.
          delete facts.cmd;
          break;
        case 'LABEL':
          for (const [k, v] of keyValues(args)) facts.labels[k.replace(/^"|"$/g, '')] = substitute(v, vars);
          break;
        case 'COPY':
        case 'ADD': {
          const f = flags(args);
          const words = execForm(f.rest) ?? f.rest.split(/\s+/).filter(Boolean);
          if (words.length < 2) break;
          const copy: Copy = {
            sources: words.slice(0, -1).map((w) => substitute(w, vars)),
            dest: substitute(words[words.length - 1] ?? '', vars),
            line: i.line,
          };
          if (f.flags['from'] !== undefined) copy.from = f.flags['from'];
          if (f.flags['chown'] !== undefined) copy.chown = f.flags['chown'];
          facts.copies.push(copy);
          break;
        }
        case 'RUN':
          readRun(i, true);
          break;
        case 'HEALTHCHECK':
        case 'VOLUME':
        case 'STOPSIGNAL':
        case 'SHELL':
        case 'ONBUILD':
          facts.unmapped.push(`${where(i)}: ${i.keyword} ${args}`);
          break;
        default:
          break; // MAINTAINER and friends carry nothing an image needs
      }
    }
  }
  // The installers themselves (pip, uv, poetry, pipenv, ...) are the Dockerfile's tools, not the app's packages.
  facts.pip.packages = facts.pip.packages.filter(
    (p) => !/^(pip|setuptools|wheel|uv|poetry|poetry-[\w-]+|pipenv|pdm|hatch|virtualenv|pip-tools)([<>=!~[].*)?$/i.test(p),
  );
  // Package prefixes: pip's --prefix/--user, VIRTUAL_ENV, and X/bin entries the final stage put on PATH.
  const home = facts.users.find((u) => u.name === facts.user?.split(':')[0])?.home ?? (facts.user ? `/home/${facts.user.split(':')[0]}` : '/root');
  for (const p of facts.pip.prefixes) facts.prefixes.push(p === '~/.local' ? '/root/.local' : p);
  if (facts.pip.prefixes.includes('~/.local') && home !== '/root') facts.prefixes.push(`${home}/.local`);
  if (facts.env['VIRTUAL_ENV']) facts.prefixes.push(facts.env['VIRTUAL_ENV']);
  for (const entry of (facts.env['PATH'] ?? '').split(':')) {
    const m = /^(\/.+)\/bin\/?$/.exec(entry);
    if (m?.[1] && !/^\/(usr(\/local)?|opt\/conda)$/.test(m[1])) facts.prefixes.push(m[1]);
  }
  facts.prefixes = [...new Set(facts.prefixes.map((p) => p.replace(/(.)\/+$/, '$1')))];
  return facts;
}
