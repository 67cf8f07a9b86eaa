import { after, before } from 'node:test';
import { ensureBaseImage } from './base-image.js';
import { startRegistry, type Registry } from './registry.js';
import { freshCache } from './shale.js';

/** What an e2e file shares: a real registry holding the base image, and shale's environment. */
export interface E2eContext {
  reg: Registry;
  /** SHALE_REGISTRY_MIRRORS pointing docker.io at the registry, and a fresh SHALE_CACHE_DIR. */
  env: Record<string, string>;
}

/**
 * Registers hooks that start a real docker-registry holding `library/python:3.11-slim` before
 * the file's tests and stop it after them. The returned context is filled in by `before`.
 */
export function useRegistryWithBase(): E2eContext {
  const ctx = {} as E2eContext;
  before(async () => {
    ctx.reg = await startRegistry();
    await ensureBaseImage(ctx.reg.host);
    ctx.env = { SHALE_REGISTRY_MIRRORS: `docker.io=${ctx.reg.host}`, SHALE_CACHE_DIR: await freshCache() };
  });
  after(async () => {
    await ctx.reg?.stop();
  });
  return ctx;
}
