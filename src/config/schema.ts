import { z } from 'zod';

/**
 * The schema of `[tool.shale]` (SPEC.md, "Configuration"). Objects are strict so an unknown or
 * misspelled key is an error that names it, not a silently ignored setting.
 */
const appItem = z.union([
  z.string().min(1),
  z.object({ from: z.string().min(1), to: z.string().min(1) }).strict(),
]);

const layerSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lowercase letters, digits, "_", "-" or "."'),
    packages: z.union([z.literal('all'), z.array(z.string().min(1))]).optional(),
    paths: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const shaleConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'use lowercase letters, digits and single "-", "_" or "." between them'),
    domain: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'use lowercase letters, digits and single "-", "_" or "." between them').optional(),
    base: z.string().min(1),
    python: z.string().regex(/^3\.\d+$/, 'write the minor version, like "3.11"').optional(),
    platforms: z.array(z.string().min(1)).min(1).optional(),
    workdir: z.string().startsWith('/', 'must be an absolute path in the image').optional(),
    entrypoint: z.array(z.string()).optional(),
    cmd: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    ports: z.array(z.number().int().min(1).max(65535)).optional(),
    user: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    libc: z.string().regex(/^(glibc|musl) \d+\.\d+$/, 'write the base\'s C library and its version, like "glibc 2.36" or "musl 1.2"').optional(),
    lock: z.string().min(1).optional(),
    'index-url': z.string().min(1).optional(),
    'extra-index-url': z.array(z.string().min(1)).optional(),
    'find-links': z.array(z.string().min(1)).optional(),
    'no-index': z.boolean().optional(),
    app: z.array(appItem).optional(),
    exclude: z.array(z.string().min(1)).optional(),
    layers: z.array(layerSchema).optional(),
    'max-layers': z.number().int().min(2).max(127).optional(),
    'compile-bytecode': z.boolean().optional(),
    'ca-certs': z.boolean().optional(),
  })
  .strict();

export type ShaleConfig = z.infer<typeof shaleConfigSchema>;
