/**
 * shale as a library: the CLI is a thin layer over these. A build is
 * `loadBuildSpec(dir)` → `build(spec, { publishers: [new RegistryPublisher(ref)], ... }, events)`;
 * publishers put the image in a registry, an OCI layout or a tarball (several: in order).
 * Images are read back with `readLayout`, `readTarball` or a `RegistryClient`.
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
export { parseReference, parseReferenceAt, referenceString, type Reference } from './ref/reference.js';
export { parseMirrors, type Mirrors } from './ref/mirrors.js';
export { RegistryClient, type RegistryClientOptions } from './registry/client.js';
export type { Publisher, PublishReport, PublishSession, TargetImage } from './publish/publisher.js';
export { RegistryPublisher, pushArtifact } from './publish/registry.js';
export { LayoutPublisher, writeLayout, readLayout } from './publish/layout.js';
export { TarballPublisher, writeTarball, readTarball } from './publish/tarball.js';
export { MultiPublisher } from './publish/multi.js';
export { imageHistory, type HistoryRow } from './inspect/history.js';
