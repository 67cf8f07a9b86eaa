/**
 * Maintainer scripts are never run (nothing runs in the image while it is built). Most of what
 * a library's postinst does is `ldconfig`, which a layer does not need: Debian's dynamic linker
 * also searches the multiarch directories (/usr/lib/<triplet>) when its cache misses a library.
 * What else a script does is said, so a user knows what was left undone.
 */
import { installCalls } from './alternatives.js';

/** The things a postinst may do that matter, by the command that does them. */
const KNOWN: [RegExp, string][] = [
  [/\b(adduser|useradd|addgroup|groupadd)\b/, 'creates system users or groups: they are missing'],
  [/\b(systemctl|deb-systemd-helper|update-rc\.d|invoke-rc\.d)\b/, 'enables a service: nothing starts services in a container anyway'],
  [/\bupdate-ca-certificates\b/, 'builds /etc/ssl/certs: the CA bundle is missing (the ca-certs key or the base can provide one)'],
  [/\bdebconf\b|db_get|db_set/, 'asks debconf questions: defaults apply'],
  [/\b(dpkg-divert|dpkg-statoverride)\b/, 'diverts files or overrides modes: not applied'],
  [/\b(mkdir|chown|chmod|ln)\b/, 'creates or adjusts files at install time: not applied'],
];

/** What a package's maintainer scripts would have done that the layer lacks, one line each. */
export function scriptNotes(name: string, control: ReadonlyMap<string, Buffer>): string[] {
  const out: string[] = [];
  for (const script of ['preinst', 'postinst']) {
    const text = control.get(script)?.toString('utf8');
    if (!text) continue;
    // The lines debhelper adds for ldconfig only are harmless (see above); look at the rest.
    const body = text
      .split('\n')
      .filter((l) => !/^\s*(#|$)/.test(l) && !/ldconfig/.test(l))
      .join('\n');
    for (const [re, what] of KNOWN) if (re.test(body)) out.push(`${name}: its ${script} ${what}`);
    // Literal `update-alternatives --install` calls are laid by the layer (alternatives.ts); others are not.
    if (/\bupdate-alternatives\b/.test(body) && !installCalls(body).length) {
      out.push(`${name}: its ${script} registers alternatives in a way shale cannot read: the generic names it would link are missing`);
    }
  }
  return out;
}
