import { rmSync } from 'node:fs';

/** Temporary files being written by this process right now. */
const live = new Set<string>();
let hooked = false;

/**
 * Removes every temporary file still being written when the process exits. A failed build ends
 * with `process.exit` (bin/shale) while other writers may still be running: a layer that failed
 * on a full disk stops the build, and the layers built beside it would otherwise leave their
 * half-written temp files behind, keeping the disk full, one more set per retry. `exit`
 * listeners must be synchronous, hence rmSync.
 */
function removeLive(): void {
  for (const path of live) {
    try {
      rmSync(path, { force: true, recursive: true });
    } catch {
      // Nothing more can be done while exiting; `shale cache prune` removes it later.
    }
  }
  live.clear();
}

/**
 * Registers a temporary file as being written; the returned function unregisters it (call it
 * when the file was renamed into place or removed). Until then it is removed if the process exits.
 */
export function liveTemp(path: string): () => void {
  if (!hooked) {
    process.on('exit', removeLive);
    hooked = true;
  }
  live.add(path);
  return () => {
    live.delete(path);
  };
}

/** How many temporary files this process is writing (for tests). */
export function liveTempCount(): number {
  return live.size;
}
