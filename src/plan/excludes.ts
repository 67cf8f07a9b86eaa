import dockerignoreModule from '@balena/dockerignore';

// The package's types declare an ES default export, but it is CommonJS (`module.exports = factory`):
// Node hands the factory itself to a default import, a bundler may hand `{ default: factory }`.
type Factory = typeof dockerignoreModule.default;
const dockerignore: Factory = (dockerignoreModule as { default?: Factory }).default ?? (dockerignoreModule as unknown as Factory);

/** A set of .dockerignore rules (Docker's semantics: the last matching rule wins, `!` re-includes). */
export type IgnoreRules = ReturnType<Factory>;

/** Empty, case-sensitive .dockerignore rules. */
export const newIgnore = (): IgnoreRules => dockerignore({ ignorecase: false });

/**
 * Files that never belong in an image unless the user says otherwise: secrets (dotenv files,
 * SSH and TLS keys, credentials of cloud CLIs, package managers, git and Docker), VCS data,
 * caches, and PEP 751 locks (what they pin is installed and recorded already; keeping them out
 * lets a build from `shale lock`'s output give the same image as the build that resolved on
 * the spot). Matched at any depth; a directory's pattern covers everything under it. The one
 * list both the build (src/plan/app-files.ts) and `shale validate` (src/validate/excluded.ts) use.
 */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.git',
  // `.env` on its own too: it is the one most projects have, and a report naming it reads best.
  '.env',
  '.env*',
  '.venv',
  '__pycache__',
  '*.pyc',
  '.shale',
  'node_modules',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_ed25519*',
  'id_ecdsa*',
  'id_dsa*',
  '.ssh',
  '.netrc',
  '.aws',
  '.npmrc',
  '.pypirc',
  '.git-credentials',
  '.dockerconfigjson',
  '.docker/config.json',
  '.htpasswd',
  'pylock.toml',
  'pylock.*.toml',
  'system-packages.lock.toml',
];

/** The default excludes as .dockerignore rules that match at any depth. */
export const defaultExcludeRules = (): string[] => DEFAULT_EXCLUDES.map((p) => `**/${p}`);

/**
 * Tells which default exclude a path falls under. Made per use: the rules remember every path
 * they were asked about, so a long-lived instance would hold every path of every build.
 */
export function defaultExcludes(): { match(path: string): string | undefined } {
  const all = newIgnore().add(defaultExcludeRules());
  const each = DEFAULT_EXCLUDES.map((pattern) => ({ pattern, rules: newIgnore().add(`**/${pattern}`) }));
  return {
    /** The first default exclude that covers `path` (relative, '/'-separated), or undefined. */
    match(path: string): string | undefined {
      const p = path.replace(/^\/+/, '');
      if (!p || !all.ignores(p)) return undefined;
      return each.find((x) => x.rules.ignores(p))?.pattern;
    },
  };
}
