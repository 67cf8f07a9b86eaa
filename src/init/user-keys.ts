/**
 * `USER` and what the Dockerfile does for it (`useradd`/`adduser`, `chown`) → the `user` and
 * `writable` keys: a user the Dockerfile creates is created by shale too (`user = "appuser"`, or
 * the table with the ids the Dockerfile gives), and the directories it hands to that user are
 * `writable`. A name the Dockerfile does not create is written as it is, with a note that the
 * base must have it (init does not read the base; the build checks).
 */
import { posix } from 'node:path';
import type { DockerfileFacts } from './dockerfile.js';

/** `user` as init writes it: a name or ids as `USER` has them, or the table for a user the Dockerfile creates. */
export type UserKey = string | { name: string; uid?: number; gid?: number; home?: string };

/**
 * The keys, and notes on them (`TODO: ` first for what is left to do by hand). `copiedFiles`: the
 * chowned paths that are files copied from the project (not directories to make writable).
 */
export function userKeys(facts: DockerfileFacts, workdir: string, copiedFiles: ReadonlySet<string>): { user?: UserKey; writable?: string[]; notes: string[] } {
  const f = facts.file;
  const notes: string[] = [];
  if (!facts.user) {
    if (facts.chowned.length) notes.push(`${f} chowns ${facts.chowned.join(', ')} but runs as root, which can write there anyway`);
    return { notes };
  }
  const [who = '', group] = facts.user.split(':');
  // `USER 10001` after `useradd -u 10001 appuser` is that user too.
  const created = facts.users.find((u) => u.name === who || (u.uid !== undefined && String(u.uid) === who));
  let user: UserKey = facts.user;
  if (created) {
    const table: Exclude<UserKey, string> = { name: created.name };
    const gid = group !== undefined && /^\d+$/.test(group) ? Number(group) : (created.gid ?? created.uid);
    if (created.uid !== undefined) table.uid = created.uid;
    if (gid !== undefined && (created.uid !== undefined || created.gid !== undefined)) table.gid = gid;
    if (created.home && created.home !== `/home/${created.name}`) table.home = created.home;
    user = Object.keys(table).length === 1 ? created.name : table;
    const ids = created.uid !== undefined ? `uid ${created.uid}` : 'no uid (shale gives it the first free id from 10001 up)';
    notes.push(`user ${created.name}: created by ${f} with ${ids}; shale creates it in the image the same way`);
    if (group !== undefined && !/^\d+$/.test(group) && group !== created.name)
      notes.push(
        `TODO: ${f} runs as group ${group}; shale puts ${created.name} in its own group: write user = "${created.name}:${group}" if the base has that group`,
      );
  } else if (/^\d+(:\d+)?$/.test(facts.user)) notes.push(`user ${facts.user}: numeric, needs no entry in /etc/passwd`);
  else notes.push(`user "${facts.user}" is not created by ${f}: shale uses the base's, and stops if the base lacks it`);

  // chown'ed directories → writable (absolute ones that are not files the project copies in).
  const writable: string[] = [];
  for (const p of facts.chowned) {
    const abs = p.startsWith('/') ? posix.normalize(p).replace(/(.)\/+$/, '$1') : undefined;
    if (abs === undefined || abs === '/' || abs.includes('$') || copiedFiles.has(abs)) {
      notes.push(`TODO: ${f} chowns ${p}; add it to writable if it is a directory the user must write to`);
      continue;
    }
    if (!writable.includes(abs)) writable.push(abs);
  }
  if (writable.length)
    notes.push(
      `writable ${writable.join(', ')}: ${f} chowns ${writable.length > 1 ? 'them' : 'it'} for its user` +
        (writable.includes(workdir) ? " (the workdir: the app's files there become the user's)" : ''),
    );
  return { user, ...(writable.length ? { writable } : {}), notes };
}
