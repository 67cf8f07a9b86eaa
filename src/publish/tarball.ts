import type { Events } from '../events.js';
import { writeTarball, type TarballOptions } from '../image/tarball.js';
import type { Artifact } from '../oci/image.js';
import { wroteTo, type PublishReport, type Publisher } from './publisher.js';

/**
 * Publishes to a tarball that `docker load` and `podman load` accept (`shale build --tar FILE`);
 * the writing is `writeTarball` (src/image/tarball.ts).
 */
export class TarballPublisher implements Publisher {
  constructor(
    readonly target: string,
    private readonly options: Omit<TarballOptions, 'events'>,
  ) {}

  /** Writes the artifact to the tarball (replacing the file only once it is whole). */
  async publish(artifact: Artifact, events: Events): Promise<PublishReport> {
    events({ type: 'step', step: 'writing tarball', detail: this.target });
    await writeTarball(this.target, artifact, { ...this.options, events });
    return wroteTo(this.target);
  }
}
