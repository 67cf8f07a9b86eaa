/**
 * shale as a library: the CLI is a thin layer over these. A build is
 * `loadBuildSpec(dir)` → `build(spec, options, events)`; images are read back with
 * `readLayout`, `readTarball` or a `RegistryClient`.
 */
export { loadBuildSpec } from './config/load.js';
export type { BuildSpec, AppSource, ExplicitLayer } from './config/spec.js';
export { build } from './pipeline/build.js';
export type { BuildOptions } from './pipeline/options.js';
export type { BuildResult, LayerReport } from './pipeline/result.js';
export type { Events, ShaleEvent } from './events.js';
export { ShaleError, InputError } from './errors.js';
export type { Artifact, Image, Index, Layer, LayerSource } from './oci/image.js';
export * from './oci/types.js';
export { parseReference, referenceString, type Reference } from './ref/reference.js';
export { parseMirrors, type Mirrors } from './ref/mirrors.js';
export { RegistryClient, type RegistryClientOptions } from './registry/client.js';
export { pushArtifact } from './publish/registry.js';
export { writeLayout, readLayout } from './publish/layout.js';
export { writeTarball, readTarball } from './publish/tarball.js';
export { imageHistory, type HistoryRow } from './inspect/history.js';
