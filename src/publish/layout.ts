import type { Events } from '../events.js';
import { writeLayout } from '../image/layout.js';
import type { Artifact } from '../oci/image.js';
import { wroteTo, type PublishReport, type Publisher } from './publisher.js';

/**
 * Publishes into an OCI image layout directory (`shale build --oci DIR`, and by default
 * DIR/.shale/image), under `tag`; the writing is `writeLayout` (src/image/layout.ts).
 */
export class LayoutPublisher implements Publisher {
  constructor(
    readonly target: string,
    private readonly options: { tag?: string } = {},
  ) {}

  /** Writes the artifact into the layout. */
  async publish(artifact: Artifact, events: Events): Promise<PublishReport> {
    events({ type: 'step', step: 'writing OCI layout', detail: this.target });
    await writeLayout(this.target, artifact, { ...this.options, events });
    return wroteTo(this.target);
  }
}
