/**
 * shale as a library: the CLI is a thin layer over these. A build is
 * `loadBuildSpec(dir)` → `build(spec, { publishers: [new RegistryPublisher(ref)], ... }, events)`;
 * publishers put the image in a registry, an OCI layout or a tarball (several: in order).
 * Images are read back, from any of the three, with `openArtifact` (then `loadArtifact` for
 * every image of an index, or the `platform` option for one).
 */
export { loadBuildSpec } from './config/load.js';
export type { BuildSpec, AppSource, ExplicitLayer } from './config/spec.js';
export { build } from './pipeline/build.js';
export type { BuildOptions } from './pipeline/options.js';
export type { BuildResult, LayerReport, LayerSource } from './pipeline/result.js';
export type { Events, ShaleEvent } from './events.js';
export { ShaleError, InputError } from './errors.js';
export { artifactDigest, artifactImages, imagePlatform, type Artifact, type BlobOrigin, type Image, type Index, type Layer } from './oci/image.js';
export * from './oci/types.js';
export { Annotation } from './oci/annotations.js';
export { annotate, appendLayers, ociImage, ociIndex, setConfig, type Addendum } from './oci/mutate.js';
export { parseConfig, parseIndex, parseManifest, OciParseError } from './oci/parse.js';
export { parseReference, parseReferenceAt, referenceString, type Reference } from './ref/reference.js';
export { parseMirrors, type Mirrors } from './ref/mirrors.js';
export { RegistryClient, type RegistryClientOptions } from './registry/client.js';
export { openArtifact, type ArtifactLocation, type OpenOptions } from './image/open.js';
export { loadArtifact, type OpenedArtifact, type OpenedIndex } from './image/opened.js';
export { platformImage } from './image/select-platform.js';
export { openRemote, pushArtifact, type PushOptions, type PushResult } from './image/remote.js';
export { openLayout, readLayout, writeLayout, type LayoutOptions } from './image/layout.js';
export { openTarball, readTarball, writeTarball, type TarballOptions } from './image/tarball.js';
export type { Publisher, PublishReport, PublishSession, TargetImage } from './publish/publisher.js';
export { RegistryPublisher } from './publish/registry.js';
export { LayoutPublisher } from './publish/layout.js';
export { TarballPublisher } from './publish/tarball.js';
export { MultiPublisher } from './publish/multi.js';
export { imageHistory, type HistoryRow } from './inspect/history.js';
