/**
 * APT's package sources: the one-line form of /etc/apt/sources.list (`deb [signed-by=...]
 * http://deb.debian.org/debian bookworm main`) and the deb822 form of `.sources` files
 * (`Types: deb`, `URIs:`, `Suites:`, `Components:`, `Signed-By:`), both as in sources.list(5).
 * Only `deb` entries count (`deb-src` is for source packages); flat repositories (a suite
 * ending in "/" with no components) are not supported and are said to be.
 */
import { field, parseStanzas } from './control.js';

/** One repository: a URI, a suite and its components, and the keys that may sign its index. */
export interface AptSource {
  uri: string;
  suite: string;
  components: string[];
  /**
   * Keyring files (paths in the image, or on the host for `apt-sources` from the config) or an
   * inline armored key block; undefined means "any key apt trusts" (the keyrings of the image).
   */
  signedBy?: string[];
  /** Architectures this source serves, when it says so. */
  architectures?: string[];
  /** Where it was read from, for messages. */
  origin: string;
}

const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter((w) => w !== '');

/** Parses sources.list one-line entries. Comments and `deb-src` lines are skipped. */
export function parseSourcesList(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const at = `${origin}, line ${i + 1}`;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${at}: expected "deb [options] URI SUITE COMPONENT...", got "${line}"`);
    if (m[1] !== 'deb') return;
    const options = new Map<string, string>();
    for (const opt of words(m[2])) {
      const eq = opt.indexOf('=');
      if (eq > 0) options.set(opt.slice(0, eq).toLowerCase(), opt.slice(eq + 1));
    }
    out.push(source(m[3]!, [m[4]!], words(m[5]), options.get('signed-by')?.split(','), options.get('arch')?.split(','), at)[0]!);
  });
  return out;
}

/** Parses a deb822 `.sources` file: one source per URI × suite of every enabled `deb` paragraph. */
export function parseDeb822Sources(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  for (const s of parseStanzas(text, origin)) {
    if (!words(field(s, 'Types')).includes('deb')) continue;
    if ((field(s, 'Enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const signed = field(s, 'Signed-By');
    // Signed-By is either file names or an inline key block (which spans several lines).
    const signedBy = signed === undefined ? undefined : signed.includes('BEGIN PGP PUBLIC KEY BLOCK') ? [armor(signed)] : words(signed);
    const arches = field(s, 'Architectures');
    for (const uri of words(field(s, 'URIs')))
      out.push(...source(uri, words(field(s, 'Suites')), words(field(s, 'Components')), signedBy, arches ? words(arches) : undefined, origin));
  }
  return out;
}

/** An inline key from a deb822 field: continuation lines "." stand for blank ones. */
function armor(value: string): string {
  return (
    value
      .split('\n')
      .map((l) => (l.trim() === '.' ? '' : l.trim()))
      .join('\n')
      .trim() + '\n'
  );
}

function source(
  uri: string,
  suites: string[],
  components: string[],
  signedBy: string[] | undefined,
  architectures: string[] | undefined,
  origin: string,
): AptSource[] {
  return suites.map((suite) => {
    if (suite.endsWith('/'))
      throw new Error(`${origin}: the flat repository "${uri} ${suite}" is not supported; use a repository with dists/SUITE and components`);
    if (!components.length) throw new Error(`${origin}: "${uri} ${suite}" names no component (e.g. main)`);
    return {
      uri: uri.replace(/\/+$/, ''),
      suite,
      components,
      ...(signedBy ? { signedBy } : {}),
      ...(architectures ? { architectures } : {}),
      origin,
    };
  });
}
