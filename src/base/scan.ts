/**
 * One pass over a base image's layers for what shale must know of it (its C library, its
 * Python), top layer first since an upper layer's file wins, stopping as soon as every probe
 * is sure: a Debian base's C library is known from /etc/debian_version, early in its tar, and
 * the rest of the layer is never downloaded. Nothing is written to disk.
 */
import { layerCompression, layerEntries, type LayerBlob, type TarEntry } from '../layer/read-entries.js';

/** What one probe looks for in the layers, fed entry by entry. */
export interface Probe {
  /**
   * Whether an entry matters: 'bytes' to get its body (small files only), 'header' for the
   * entry alone. Called only while the probe is not done.
   */
  wants(entry: TarEntry): 'bytes' | 'header' | undefined;
  /** An entry it wanted, with its body when it asked for 'bytes'. */
  see(entry: TarEntry, bytes: Buffer | undefined): void;
  /** The layer ended (every entry of it was seen, or the probe said it was done). */
  endLayer(): void;
  /** Nothing in the layers below can change what it found. */
  readonly done: boolean;
}

/** What a scan read. */
export interface ScanReport {
  /** Layers opened (the rest were not downloaded). */
  read: number;
  /** zstd layers, which cannot be read here and were passed over. */
  skipped: number;
}

/**
 * Streams `layers` (bottom first, as a manifest lists them) from the top down into `probes`,
 * until every probe is done or the bottom layer ended. A layer is abandoned mid-stream as soon
 * as every probe is done.
 */
export async function scanLayers(layers: readonly LayerBlob[], probes: readonly Probe[]): Promise<ScanReport> {
  const report: ScanReport = { read: 0, skipped: 0 };
  for (const layer of [...layers].reverse()) {
    if (probes.every((p) => p.done)) break;
    if (layerCompression(layer.mediaType) === 'zstd') {
      report.skipped++;
      continue;
    }
    report.read++;
    for await (const entry of layerEntries(layer)) {
      let bytes: Buffer | undefined;
      for (const p of probes) {
        if (p.done) continue;
        const want = p.wants(entry);
        if (want === undefined) continue;
        if (want === 'bytes') bytes ??= await entry.bytes();
        p.see(entry, want === 'bytes' ? bytes : undefined);
      }
      if (probes.every((p) => p.done)) break;
    }
    for (const p of probes) p.endLayer();
  }
  return report;
}
