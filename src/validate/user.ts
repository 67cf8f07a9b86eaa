/**
 * `user`: the image's `User` exists where the runtime looks it up: a name in /etc/passwd (and a
 * group name in /etc/group) of the final image, base layers included. Numeric ids need no entry
 * (the runtime uses them as they are); no User runs as root.
 */
import { parseGroup, parsePasswd } from '../base/accounts.js';
import { platformString } from '../oci/types.js';
import { verdict, type CheckResult, type ImageView } from './result.js';
import { RootFs } from './root-fs.js';

export function checkUser(images: readonly ImageView[]): CheckResult {
  const problems: string[] = [];
  const said: string[] = [];
  for (const img of images) {
    const plat = platformString(img.platform);
    const user = img.config.config?.User ?? '';
    if (user === '') {
      said.push(`${plat}: no User: runs as root`);
      continue;
    }
    const fs = new RootFs(img.layers.map((l) => l.entries));
    const text = (p: string) => {
      const hit = fs.resolve(p);
      return hit?.entry.type === 'file' ? hit.entry.text : undefined;
    };
    const passwdText = text('/etc/passwd');
    const groupText = text('/etc/group');
    const [who = '', group] = user.split(':');
    const numeric = (s: string) => /^\d+$/.test(s);
    const found: string[] = [];
    if (numeric(who)) {
      const u = parsePasswd(passwdText).find((x) => x.uid === Number(who));
      found.push(u ? `uid ${who} is ${u.name} in /etc/passwd` : `uid ${who} is numeric (no /etc/passwd entry needed)`);
    } else {
      const u = parsePasswd(passwdText).find((x) => x.name === who);
      if (!u) {
        const why = passwdText === undefined ? 'the image has no /etc/passwd' : 'it is not in /etc/passwd';
        problems.push(
          `${plat}: User "${user}": ${why}, so the container would not start (exit 126); ` +
            `set \`user\` to a name the base has, or let shale create it (user = "${who}")`,
        );
        continue;
      }
      found.push(`${who} is in /etc/passwd (uid ${u.uid}, gid ${u.gid}, home ${u.home})`);
    }
    if (group !== undefined && !numeric(group)) {
      const g = parseGroup(groupText).find((x) => x.name === group);
      if (!g) {
        problems.push(`${plat}: User "${user}": group "${group}" is not in /etc/group of the image; name a group it has, or a gid`);
        continue;
      }
      found.push(`group ${group} is gid ${g.gid}`);
    }
    said.push(`${plat}: User "${user}": ${found.join(', ')}`);
  }
  return verdict('user', problems, said.join('; '));
}
