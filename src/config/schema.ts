import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini rather than zod: the same checks and messages (with the English locale), but it loads
// in ~10 ms instead of ~35 ms, which every command pays at start-up.
z.config(en());

/**
 * The schema of `[tool.shale]` (README, "Configuration"). Objects are strict so an unknown or
 * misspelled key is an error that names it, not a silently ignored setting.
 */
const nonEmpty = (): z.ZodMiniString => z.string().check(z.minLength(1));
const matching = (re: RegExp, message: string): z.ZodMiniString => z.string().check(z.regex(re, message));
const optional = z.optional;
const NAME_HINT = 'use lowercase letters, digits and single "-", "_" or "." between them';

const appItem = z.union([nonEmpty(), z.strictObject({ from: nonEmpty(), to: nonEmpty() })]);

/** `user = { name, uid, gid, home }`: the account to run as, created when the base lacks it. */
const userTable = z.strictObject({
  name: nonEmpty(),
  uid: optional(z.int().check(z.minimum(0), z.maximum(2147483647))),
  gid: optional(z.int().check(z.minimum(0), z.maximum(2147483647))),
  home: optional(z.string().check(z.startsWith('/', 'must be an absolute path in the image'))),
});

/** A Debian package name, or `name=version`. */
const debName = matching(/^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, 'write a Debian package name, like "libpq5" (or "name=version")');

const layerSchema = z.strictObject({
  name: matching(/^[a-z0-9][a-z0-9_.-]*$/, 'use lowercase letters, digits, "_", "-" or "."'),
  packages: optional(z.union([z.literal('all'), z.array(nonEmpty())])),
  paths: optional(z.array(nonEmpty())),
  'system-packages': optional(z.array(debName).check(z.minLength(1))),
});

export const shaleConfigSchema = z.strictObject({
  name: matching(/^[a-z0-9]+([._-][a-z0-9]+)*$/, NAME_HINT),
  domain: optional(matching(/^[a-z0-9]+([._-][a-z0-9]+)*$/, NAME_HINT)),
  base: nonEmpty(),
  python: optional(matching(/^3\.\d+$/, 'write the minor version, like "3.11"')),
  platforms: optional(z.array(nonEmpty()).check(z.minLength(1))),
  workdir: optional(z.string().check(z.startsWith('/', 'must be an absolute path in the image'))),
  entrypoint: optional(z.array(z.string())),
  cmd: optional(z.array(z.string())),
  env: optional(z.record(z.string(), z.string())),
  ports: optional(z.array(z.int().check(z.minimum(1), z.maximum(65535)))),
  user: optional(z.union([z.string(), userTable])),
  writable: optional(z.array(z.string().check(z.startsWith('/', 'must be an absolute path in the image')))),
  labels: optional(z.record(z.string(), z.string())),
  libc: optional(matching(/^(glibc|musl) \d+\.\d+$/, 'write the base\'s C library and its version, like "glibc 2.36" or "musl 1.2"')),
  lock: optional(nonEmpty()),
  extras: optional(z.array(nonEmpty())),
  groups: optional(z.array(nonEmpty())),
  'index-url': optional(nonEmpty()),
  'extra-index-url': optional(z.array(nonEmpty())),
  'find-links': optional(z.array(nonEmpty())),
  'no-index': optional(z.boolean()),
  app: optional(z.array(appItem)),
  exclude: optional(z.array(nonEmpty())),
  layers: optional(z.array(layerSchema)),
  'max-layers': optional(z.int().check(z.minimum(2), z.maximum(127))),
  'compile-bytecode': optional(z.boolean()),
  'ca-certs': optional(z.boolean()),
  'registry-cache': optional(nonEmpty()),
  'system-packages': optional(z.array(debName)),
  distribution: optional(matching(/^debian:[a-z]+$/, 'write a Debian release, like "debian:bookworm"')),
  'apt-sources': optional(
    z.array(matching(/^deb\s/, 'write a sources.list line, like "deb [signed-by=keys/debian.gpg] http://deb.debian.org/debian bookworm main"')),
  ),
});

export type ShaleConfig = z.infer<typeof shaleConfigSchema>;
