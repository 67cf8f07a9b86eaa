/**
 * shale's local cache, opened once per run from its directory: every kind of thing it keeps,
 * each behind its own small object, so no code outside this file joins paths under the cache
 * directory or keeps a process-wide table of its own. The objects are made here but live beside
 * what they keep: layers and records in src/store, wheels, index pages and resolutions in
 * src/python, base-image facts in src/base.
 *
 *     blobs/sha256/<hex>                 blobs         layer blobs (an OCI layout's blob store)
 *     index/<sha256(fingerprint)>.json   layers        layer fingerprint → stored layer
 *     records/<sha256(key)>.json         records       last inputs of each layer, for --explain
 *     file-hashes.json                   hashes        content hashes of host files, by stat data
 *     wheels/<sha256>/<file>             wheels        downloaded wheels
 *     wheels/urls/<sha256(url)>.json     urls          what a URL served, to skip a download
 *     built-wheels/<sdist sha256>/       builtWheels   wheels built from sdists
 *     metadata/<sha256>.json             metadata      wheels' core metadata (and installed file lists)
 *     index-pages/<sha256(url)>.json     pages         package index pages, with validators
 *     resolutions/<key>.json             resolutions   resolutions kept while their pages are fresh
 *     base/<digest hex>.json             base          a base image's C library and Python
 */
import { noEvents, type Events } from '../events.js';
import { BaseRecords } from '../base/records.js';
import { BuiltWheels } from '../python/built-wheels.js';
import { MetadataCache } from '../python/metadata-cache.js';
import { PageCache } from '../python/page-cache.js';
import { Resolutions } from '../python/resolution-cache.js';
import { UrlIndex } from '../python/url-index.js';
import { WheelCache } from '../python/wheel-cache.js';
import { FsBlobStore } from './blob-store.js';
import { sweepStaleTemps } from './cache-prune.js';
import { FileHashes } from './file-hashes.js';
import { FingerprintIndex } from './fingerprint-index.js';
import { LayerRecords } from './layer-records.js';

/**
 * The cache of one run (a build, a lock). Nothing is read until a member is asked; damaged files
 * are warned about once each through the `events` it was opened with. Several processes may
 * share one directory (every write is atomic).
 */
export class Cache {
  readonly blobs: FsBlobStore;
  /** Layer fingerprint → stored layer. */
  readonly layers: FingerprintIndex;
  /** The last inputs of each layer of each project, for --explain. */
  readonly records: LayerRecords;
  /** Content hashes of host files; saved by {@link Cache.save}. */
  readonly hashes: FileHashes;
  readonly wheels: WheelCache;
  readonly urls: UrlIndex;
  readonly builtWheels: BuiltWheels;
  readonly metadata: MetadataCache;
  readonly pages: PageCache;
  readonly resolutions: Resolutions;
  /** What earlier builds learned of base images, by manifest digest. */
  readonly base: BaseRecords;

  private constructor(
    /** The cache directory, for messages and `shale cache`. */
    readonly dir: string,
    readonly events: Events,
  ) {
    this.blobs = new FsBlobStore(dir);
    this.layers = new FingerprintIndex(dir, this.blobs, events);
    this.records = new LayerRecords(dir, events);
    this.hashes = new FileHashes(dir, events);
    this.wheels = new WheelCache(dir);
    this.urls = new UrlIndex(dir);
    this.builtWheels = new BuiltWheels(dir);
    this.metadata = new MetadataCache(dir);
    this.pages = new PageCache(dir);
    this.resolutions = new Resolutions(dir);
    this.base = new BaseRecords(dir, events);
  }

  /** The cache in `dir` (made on first write), reporting damaged files to `events`. */
  static open(dir: string, events: Events = noEvents): Cache {
    return new Cache(dir, events);
  }

  /** Writes what is kept in memory until the end of a run (the file hashes learned). */
  async save(): Promise<void> {
    await this.hashes.save();
  }

  /** Removes the temporary files of builds that died; returns the bytes freed. */
  sweep(): Promise<number> {
    return sweepStaleTemps(this.dir);
  }
}
