// The e2e test infrastructure in one import: a real registry, the Debian python base image,
// podman/skopeo/umoci helpers and real wheels. See support.test.ts for it in use.
export * from './exec.js';
export * from './cache.js';
export * from './registry.js';
export * from './base-image.js';
export * from './podman.js';
export * from './wheels.js';
export * from './multi-arch-base.js';
