/**
 * PEP 508 environment markers ("python_version < '3.12' and sys_platform == 'linux'"),
 * evaluated for a target image rather than for the machine running shale.
 */
import { InputError } from '../errors.js';
import { normalizeName } from './names.js';
import { isVersion, satisfies } from './pep440.js';
import { pythonArch, type TargetEnv } from './tags.js';

/** Marker variable values, by PEP 508 name. */
export type MarkerEnv = Record<string, string>;

/**
 * The marker variables of a target image. The patch level of python_full_version is unknown
 * unless `env.python` carries it ("3.11.7"); "3.11" is taken as "3.11.0".
 */
export function markerEnv(env: TargetEnv): MarkerEnv {
  const parts = env.python.split('.');
  const short = parts.slice(0, 2).join('.');
  const full = parts.length >= 3 ? parts.slice(0, 3).join('.') : `${short}.0`;
  return {
    python_version: short,
    python_full_version: full,
    implementation_version: full,
    implementation_name: 'cpython',
    platform_python_implementation: 'CPython',
    os_name: 'posix',
    sys_platform: 'linux',
    platform_system: 'Linux',
    platform_machine: pythonArch(env.platform),
    platform_release: '',
    platform_version: '',
    extra: '',
  };
}

type Token = { kind: 'str' | 'var' | 'op' | 'lp' | 'rp' | 'and' | 'or'; text: string };

const TOKEN_RE = /\s*(?:(\()|(\))|'([^']*)'|"([^"]*)"|(===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)|(and\b|or\b)|([A-Za-z_.]+))/y;

function tokenize(marker: string): Token[] {
  const out: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  let pos = 0;
  while (pos < marker.length) {
    if (/^\s*$/.test(marker.slice(pos))) break;
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(marker);
    if (!m) throw new Error(`unexpected text at "${marker.slice(pos)}"`);
    pos = TOKEN_RE.lastIndex;
    if (m[1]) out.push({ kind: 'lp', text: '(' });
    else if (m[2]) out.push({ kind: 'rp', text: ')' });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ kind: 'str', text: m[3] ?? m[4] ?? '' });
    else if (m[5]) out.push({ kind: 'op', text: m[5].replace(/\s+/g, ' ') });
    else if (m[6]) out.push({ kind: m[6] === 'and' ? 'and' : 'or', text: m[6] });
    else if (m[7]) out.push({ kind: 'var', text: m[7].replace(/^os\.name$/, 'os_name').replace(/^sys\.platform$/, 'sys_platform') });
  }
  return out;
}

const VERSION_VARS = new Set(['python_version', 'python_full_version', 'implementation_version']);

function compare(lhs: string, op: string, rhs: string, versions: boolean): boolean {
  if (op === 'in') return rhs.includes(lhs);
  if (op === 'not in') return !rhs.includes(lhs);
  // PEP 508: version variables compare by PEP 440 when both sides are versions (`<` is
  // `python_version < "3.12"` with pre-releases counted, as packaging's Marker does).
  if (versions && op !== '===' && isVersion(lhs) && isVersion(rhs)) {
    if (op === '~=' && !rhs.includes('.')) throw new Error(`~= needs a version with a dot, got "${rhs}"`);
    return satisfies(lhs, `${op}${rhs}`, true);
  }
  if (op === '==' || op === '===') return lhs === rhs;
  if (op === '!=') return lhs !== rhs;
  throw new Error(`operator ${op} needs version operands, got "${lhs}" and "${rhs}"`);
}

/**
 * Evaluates a marker for the given variables. A marker shale cannot read is bad input:
 * an InputError naming the marker and `where` (usually "requirements.txt:12").
 */
export function evaluateMarker(marker: string, vars: MarkerEnv, where = 'marker'): boolean {
  try {
    const toks = tokenize(marker);
    let i = 0;
    const value = (): { text: string; isVar: string | undefined } => {
      const t = toks[i++];
      if (t?.kind === 'str') return { text: t.text, isVar: undefined };
      if (t?.kind === 'var') {
        const v = vars[t.text];
        if (v === undefined) throw new Error(`unknown marker variable ${t.text}`);
        return { text: v, isVar: t.text };
      }
      throw new Error(`expected a variable or a quoted string, got ${t ? `"${t.text}"` : 'the end'}`);
    };
    const atom = (): boolean => {
      if (toks[i]?.kind === 'lp') {
        i++;
        const r = or();
        if (toks[i++]?.kind !== 'rp') throw new Error('missing ")"');
        return r;
      }
      const l = value();
      const op = toks[i++];
      if (op?.kind !== 'op') throw new Error(`expected a comparison after "${l.text}"`);
      const r = value();
      const versions = VERSION_VARS.has(l.isVar ?? '') || VERSION_VARS.has(r.isVar ?? '');
      // PEP 685: `extra` compares by normalized name on both sides.
      if (l.isVar === 'extra' || r.isVar === 'extra') return compare(normalizeName(l.text), op.text, normalizeName(r.text), false);
      return compare(l.text, op.text, r.text, versions);
    };
    const and = (): boolean => {
      let r = atom();
      while (toks[i]?.kind === 'and') {
        i++;
        r = atom() && r;
      }
      return r;
    };
    const or = (): boolean => {
      let r = and();
      while (toks[i]?.kind === 'or') {
        i++;
        r = and() || r;
      }
      return r;
    };
    const result = or();
    if (i !== toks.length) throw new Error(`unexpected "${toks[i]?.text ?? ''}"`);
    return result;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new InputError('SHALE_BAD_MARKER', `${where}: cannot evaluate environment marker "${marker}": ${msg}`, { cause: err });
  }
}
