/**
 * The account a container runs as, looked up in (or added to) the base's /etc/passwd,
 * /etc/group, /etc/shadow and /etc/gshadow: what `user` means, and the edited files the `users`
 * layer holds. Pure functions over the files' texts; reading them from the base is
 * `base/etc-files.ts`.
 *
 * The rules (README, "Users"): a name the base has is used as it is; a name it lacks is created
 * like `useradd -m -s /bin/sh NAME` would, with reproducible fields: uid and gid from the table
 * form, else the smallest id from 10001 up that is free as a uid and (when a group is made) as a
 * gid, so uid = gid; its own group named after it unless a group is named ("name:staff", which
 * must exist) or a gid is given that a group already has; home /home/NAME (or `home`); shell
 * /bin/sh; password locked ("!"), no ageing dates. Numeric users are never created.
 */
import { InputError } from '../errors.js';
import type { UserSpec } from '../config/spec.js';

/** One of the base's account files: its text and how it is owned (kept when it is rewritten). */
export interface EtcFile {
  text: string;
  mode: number;
  uid: number;
  gid: number;
}

/** The account files of a base, as found (each may be missing). */
export interface BaseAccounts {
  passwd?: EtcFile | undefined;
  group?: EtcFile | undefined;
  shadow?: EtcFile | undefined;
  gshadow?: EtcFile | undefined;
}

/** The account files by path. */
export const ACCOUNT_FILES = { passwd: '/etc/passwd', group: '/etc/group', shadow: '/etc/shadow', gshadow: '/etc/gshadow' } as const;

/** The first id handed out when the config gives none (clear of distributions' 1000-range users). */
export const FIRST_ID = 10001;
/** The shell of a created user: present in nearly every base (nologin is not in distroless ones). */
export const CREATED_SHELL = '/bin/sh';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

const lines = (text: string | undefined): string[] => (text ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** /etc/passwd entries (malformed lines skipped, as libc's getpwnam skips them). */
export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const l of lines(text)) {
    const f = l.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** /etc/group entries (malformed lines skipped). */
export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const l of lines(text)) {
    const f = l.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]) });
  }
  return out;
}

/** The account resolved: who the container runs as. */
export interface Account {
  /** The name, when the account has one in the image. */
  name?: string;
  uid: number;
  gid: number;
  home?: string;
  /** Added to the base's files by shale (else the base has it, or it is numeric). */
  created: boolean;
  /** A group shale added along with it (its name), if any. */
  createdGroup?: string;
}

/** What the account needs: the account, and the files that change (path → new file). */
export interface AccountPlan {
  account: Account;
  files: Map<string, EtcFile>;
}

/** Where the base's files come from and where the key is, for messages. */
export interface AccountContext {
  /** "base image docker.io/library/python:3.11-slim" */
  base: string;
  /** "pyproject.toml: [tool.shale].user" */
  key: string;
}

const ROOT_FILE = (text: string, mode = 0o644): EtcFile => ({ text, mode, uid: 0, gid: 0 });

function appended(file: EtcFile | undefined, line: string, fresh: () => EtcFile): EtcFile {
  const f = file ?? fresh();
  const text = f.text === '' || f.text.endsWith('\n') ? f.text : `${f.text}\n`;
  return { ...f, text: `${text}${line}\n` };
}

/** The smallest id from {@link FIRST_ID} up that none of `taken` holds. */
function freeId(...taken: ReadonlySet<number>[]): number {
  for (let n = FIRST_ID; ; n++) if (taken.every((t) => !t.has(n))) return n;
}

/**
 * Resolves `user` against the base's account files: the account the container runs as, and the
 * files to write when it must be created. An InputError names the key, the base and what to do
 * when the request cannot hold (a named group the base lacks, a uid another user has, a name the
 * base has with other ids).
 */
export function planAccount(req: UserSpec, base: BaseAccounts, ctx: AccountContext): AccountPlan {
  const users = parsePasswd(base.passwd?.text);
  const groups = parseGroup(base.group?.text);
  const bad = (code: string, why: string): InputError => new InputError(code, `${ctx.key} = ${req.written}: ${why}`);
  const namedGroup = (): GroupEntry | undefined => {
    if (req.group === undefined) return undefined;
    const g = groups.find((x) => x.name === req.group);
    if (!g) {
      throw bad(
        'SHALE_USER_GROUP',
        `group "${req.group}" is not in /etc/group of ${ctx.base}, and shale creates a group only for a user it creates, named after it; ` +
          `name a group the base has, give a gid ("${req.name ?? req.uid}:1000"), or leave the group out`,
      );
    }
    return g;
  };

  if (req.name === undefined) {
    // Numeric: nothing is created; the group is the one asked for, else the passwd entry's, else root's (as the runtime does).
    const uid = req.uid ?? 0;
    const gid = namedGroup()?.gid ?? req.gid ?? users.find((u) => u.uid === uid)?.gid ?? 0;
    const known = users.find((u) => u.uid === uid);
    return { account: { ...(known ? { name: known.name, home: known.home } : {}), uid, gid, created: false }, files: new Map() };
  }

  const name = req.name;
  const existing = users.find((u) => u.name === name);
  if (existing) {
    const differs = [
      req.uid !== undefined && req.uid !== existing.uid ? `uid ${existing.uid}` : '',
      // The table describes the account; "name:gid" only picks the group the container runs with.
      req.written.startsWith('{') && req.gid !== undefined && req.gid !== existing.gid ? `gid ${existing.gid}` : '',
      req.home !== undefined && req.home !== existing.home ? `home ${existing.home}` : '',
    ].filter(Boolean);
    if (differs.length) {
      throw bad(
        'SHALE_USER_EXISTS',
        `${ctx.base} already has user "${name}" with ${differs.join(', ')}; ` +
          'shale uses a user the base has as it is: remove uid/gid/home from the key, or pick another name',
      );
    }
    const gid = namedGroup()?.gid ?? req.gid ?? existing.gid;
    return { account: { name, uid: existing.uid, gid, home: existing.home, created: false }, files: new Map() };
  }

  const uids = new Set(users.map((u) => u.uid));
  const gids = new Set(groups.map((g) => g.gid));
  if (req.uid !== undefined && uids.has(req.uid)) {
    const other = users.find((u) => u.uid === req.uid)!;
    throw bad(
      'SHALE_USER_UID_TAKEN',
      `uid ${req.uid} is user "${other.name}" in ${ctx.base}; ` +
        `give "${name}" a free uid, or leave uid out (shale then picks the first free one from ${FIRST_ID})`,
    );
  }
  // The primary group: a named one (must exist); one that has the gid asked; one named after the user; else a new one.
  let group = namedGroup() ?? (req.gid !== undefined ? groups.find((g) => g.gid === req.gid) : groups.find((g) => g.name === name));
  if (req.group === undefined && req.gid !== undefined && !group && groups.some((g) => g.name === name)) {
    const g = groups.find((x) => x.name === name)!;
    throw bad('SHALE_USER_GROUP', `${ctx.base} has group "${name}" with gid ${g.gid}, not ${req.gid}; leave gid out to use it, or give its gid`);
  }
  let createdGroup: string | undefined;
  const uid = req.uid ?? (group ? freeId(uids) : freeId(uids, gids));
  if (!group) {
    const gid = req.gid ?? (gids.has(uid) ? freeId(gids) : uid);
    group = { name, gid };
    createdGroup = name;
  }
  const home = req.home ?? `/home/${name}`;
  const files = new Map<string, EtcFile>();
  files.set(
    ACCOUNT_FILES.passwd,
    // A base without the file (scratch) gets root's entry too, as every Debian and distroless image has it.
    appended(base.passwd, `${name}:x:${uid}:${group.gid}::${home}:${CREATED_SHELL}`, () => ROOT_FILE('root:x:0:0:root:/root:/bin/sh\n')),
  );
  // Locked password, no ageing dates (a date would make the layer depend on the day it was built).
  if (base.shadow)
    files.set(
      ACCOUNT_FILES.shadow,
      appended(base.shadow, `${name}:!::0:99999:7:::`, () => ROOT_FILE('', 0o640)),
    );
  if (createdGroup !== undefined) {
    files.set(
      ACCOUNT_FILES.group,
      appended(base.group, `${createdGroup}:x:${group.gid}:`, () => ROOT_FILE('root:x:0:\n')),
    );
    if (base.gshadow)
      files.set(
        ACCOUNT_FILES.gshadow,
        appended(base.gshadow, `${createdGroup}:!::`, () => ROOT_FILE('', 0o640)),
      );
  }
  return { account: { name, uid, gid: group.gid, home, created: true, ...(createdGroup === undefined ? {} : { createdGroup }) }, files };
}
