/**
 * The `user` and `writable` keys: what account the container runs as, and which directories it
 * owns. Parsed here, resolved against the base's /etc/passwd and /etc/group in src/base/accounts.ts.
 */
import { posix } from 'node:path';
import { InputError } from '../errors.js';
import type { UserSpec } from './spec.js';

/** A user or group name as useradd accepts it (Debian's default NAME_REGEX, with "." and upper case allowed). */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
/** The largest id the config accepts (Linux ids are 32-bit; 2^31-1 stays clear of the "no id" value). */
const MAX_ID = 2147483647;

type UserValue = string | { name: string; uid?: number | undefined; gid?: number | undefined; home?: string | undefined };

const id = (text: string): number | undefined => (/^\d{1,10}$/.test(text) && Number(text) <= MAX_ID ? Number(text) : undefined);

/**
 * `user` as the config wrote it → the image config's User and the account to look up or create.
 * `key` names the key for messages ("[tool.shale].user").
 */
export function parseUser(file: string, key: string, value: UserValue | undefined): { user: string; account?: UserSpec } {
  if (value === undefined || value === '') return { user: '' };
  const bad = (why: string): InputError => new InputError('SHALE_CONFIG_INVALID', `${file}: \`${key}\`: ${why}`);
  if (typeof value !== 'string') {
    if (!NAME.test(value.name))
      throw bad(`"${value.name}" is not a user name; use letters, digits, "_", "-" or "." (at most 32, not starting with a digit or "-")`);
    const fields = [`name = "${value.name}"`];
    if (value.uid !== undefined) fields.push(`uid = ${value.uid}`);
    if (value.gid !== undefined) fields.push(`gid = ${value.gid}`);
    if (value.home !== undefined) fields.push(`home = "${value.home}"`);
    const account: UserSpec = { written: `{ ${fields.join(', ')} }`, name: value.name };
    if (value.uid !== undefined) account.uid = value.uid;
    if (value.gid !== undefined) account.gid = value.gid;
    if (value.home !== undefined) account.home = posix.normalize(value.home);
    return { user: value.name, account };
  }
  const written = `"${value}"`;
  const [who = '', group, extra] = value.split(':');
  if (extra !== undefined || who === '' || group === '')
    throw bad(`${written} is not a user; write a name ("appuser"), a uid ("65532"), "name:group" or "uid:gid"`);
  const account: UserSpec = { written };
  const uid = id(who);
  if (uid !== undefined) account.uid = uid;
  else if (NAME.test(who)) account.name = who;
  else throw bad(`"${who}" is neither a user name nor a uid; use letters, digits, "_", "-" or "." (not starting with a digit or "-"), or a number`);
  if (group !== undefined) {
    const gid = id(group);
    if (gid !== undefined) account.gid = gid;
    else if (NAME.test(group)) account.group = group;
    else throw bad(`"${group}" is neither a group name nor a gid`);
  }
  return { user: value, account };
}

/**
 * `writable` → normalized absolute directories, once each. Needs `user`: the directories are
 * made for it.
 */
export function parseWritable(file: string, key: string, dirs: readonly string[] | undefined, account: UserSpec | undefined): string[] {
  if (!dirs?.length) return [];
  if (!account)
    throw new InputError(
      'SHALE_CONFIG_INVALID',
      `${file}: \`${key}\` makes directories owned by the user the container runs as, but \`user\` is not set; ` +
        'set user (e.g. user = "appuser") or remove writable',
    );
  const out: string[] = [];
  for (const d of dirs) {
    const n = posix.normalize(d).replace(/(.)\/+$/, '$1');
    if (n === '/' || n.split('/').includes('..'))
      throw new InputError(
        'SHALE_CONFIG_INVALID',
        `${file}: \`${key}\`: "${d}" is not a directory shale can give to the user; name a directory below /, like "/app/data"`,
      );
    if (!out.includes(n)) out.push(n);
  }
  return out.sort();
}
