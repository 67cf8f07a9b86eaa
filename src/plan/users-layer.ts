/**
 * The `users` layer (README, "Users"): the account the container runs as, added to the base's
 * account files when the base lacks it, its home, and the `writable` directories, owned by it.
 * It sits right above the base (it changes when the base or the `user`/`writable` keys do), and
 * its fingerprint is its content, like any file layer: the same base and keys give the same bytes.
 */
import { ACCOUNT_FILES, planAccount, type Account } from '../base/accounts.js';
import { readBasePaths, type BasePath, type BasePaths } from '../base/etc-files.js';
import type { BaseSource } from '../base/facts.js';
import type { BaseRecords } from '../base/records.js';
import type { BuildSpec } from '../config/spec.js';
import { InputError } from '../errors.js';
import { parentsOf } from './lower-dirs.js';
import type { Events } from '../events.js';
import { bufferEntry, type Entry, type Owner } from '../layer/entry.js';

/** What `user` and `writable` come to on one base. */
export interface UsersPlan {
  account: Account;
  /** The `users` layer's entries; empty when the base has the user and nothing is writable. */
  entries: Entry[];
  /** The directories the user owns (with what shale puts under them). */
  writable: string[];
  /** The history line of the layer. */
  createdBy: string;
  /** What was read of the base, for the image's `dev.shale.base.users` annotation. */
  record: string;
  /** What the base has at every path read (the `alsoRead` ones too). */
  found: BasePaths;
}

/** "/a/b/c" → ["/a", "/a/b"] */
const ancestors = (p: string): string[] => parentsOf(p).map((d) => `/${d}`);

const exact = (p: BasePath): Owner => ({ uid: p.uid, gid: p.gid, mode: p.mode & 0o7777 });

/**
 * Resolves `user` and `writable` against the base (its account files and the directories on the
 * way, read once per base digest; src/base/etc-files.ts). Undefined when there is nothing to
 * do: no `user`, or a numeric one with nothing writable (the base's files are not read then).
 */
export async function planUsers(
  spec: BuildSpec,
  base: BaseSource,
  records: BaseRecords,
  noCache: boolean,
  events: Events,
  registry?: string,
  alsoRead: readonly string[] = [],
): Promise<UsersPlan | undefined> {
  const req = spec.account;
  const writable = spec.writable ?? [];
  if (!req || (req.name === undefined && writable.length === 0)) return undefined;
  const key = `${spec.configFile}: user`;
  const what = `base image ${base.name}`;
  const home = req.name === undefined ? undefined : (req.home ?? `/home/${req.name}`);
  const dirs = [...writable, ...(home ? [home] : [])];
  const texts = Object.values(ACCOUNT_FILES);
  // `alsoRead`: paths another step wants from the base, read in the same pass.
  const paths = [...new Set([...dirs, ...dirs.flatMap(ancestors), '/etc', ...alsoRead])];
  const { found, record } = await readBasePaths(base, paths, texts, records, noCache, events, registry);
  const file = (p: string) => {
    const f = found.get(p);
    if (!f || f.type !== 'file' || f.text === undefined) return undefined;
    return { text: f.text, ...exact(f) };
  };
  const plan = planAccount(
    req,
    { passwd: file(ACCOUNT_FILES.passwd), group: file(ACCOUNT_FILES.group), shadow: file(ACCOUNT_FILES.shadow), gshadow: file(ACCOUNT_FILES.gshadow) },
    { base: what, key },
  );
  const { account } = plan;
  const entries: Entry[] = [];
  for (const [path, f] of plan.files) entries.push({ ...bufferEntry(path.slice(1), f.text, f.mode), owner: { uid: f.uid, gid: f.gid, mode: f.mode } });
  const owned = [...writable, ...(account.created && account.home ? [account.home] : [])];
  for (const d of owned) {
    const have = found.get(d);
    const why = d === account.home ? `the home of "${account.name ?? account.uid}"` : `writable path ${d}`;
    if (have && have.type !== 'dir') throw notADir(spec.configFile, why, d, have, what);
    // As chown: an existing directory keeps its mode.
    entries.push({ type: 'dir', path: d.slice(1), owner: { uid: account.uid, gid: account.gid, mode: have ? have.mode & 0o7777 : 0o755 } });
  }
  if (!entries.length) return { account, entries, writable, createdBy: '', record, found };
  // The directories on the way are written as the base has them (/tmp stays 1777, /etc root's).
  const parents = new Set(entries.flatMap((e) => ancestors(`/${e.path}`)));
  for (const d of [...parents].filter((p) => !owned.includes(p))) {
    const have = found.get(d);
    if (have && have.type !== 'dir')
      throw notADir(spec.configFile, `the directory ${d} (on the way to ${owned.find((o) => o.startsWith(`${d}/`)) ?? d})`, d, have, what);
    if (have) entries.push({ type: 'dir', path: d.slice(1), owner: exact(have) });
  }
  const who = `${account.name ?? account.uid} (${account.uid}:${account.gid})`;
  const createdBy = `shale: users: ${who}${account.created ? ' created' : ''}${writable.length ? `; writable ${writable.join(' ')}` : ''}`;
  return { account, entries, writable, createdBy, record, found };
}

function notADir(configFile: string, why: string, path: string, have: BasePath, what: string): InputError {
  const kind = have.type === 'symlink' ? `a symlink to ${have.linkname ?? '?'}` : `a ${have.type === 'file' ? 'file' : have.type}`;
  return new InputError(
    'SHALE_WRITABLE_NOT_DIR',
    `${configFile}: ${why}: ${path} is ${kind} in ${what}, and a directory written over it would replace it; ` +
      'name the real directory in `writable` (or `home`)',
  );
}

/**
 * The app's (or any layer's) entries with what lies at or under a writable directory owned by
 * the user, as `chown -R` would leave it; everything else stays root's.
 */
export function ownWritable(entries: readonly Entry[], writable: readonly string[], account: Account): Entry[] {
  if (!writable.length) return [...entries];
  const under = (p: string) => writable.some((w) => p === w || p.startsWith(`${w}/`));
  return entries.map((e) => {
    if (e.type === 'symlink' || !under(`/${e.path.replace(/^\/+/, '')}`)) return e;
    const mode = e.type === 'dir' ? 0o755 : (e.mode & 0o111) !== 0 ? 0o755 : 0o644;
    return { ...e, owner: { uid: account.uid, gid: account.gid, mode } };
  });
}
