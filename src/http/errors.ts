import { ShaleError } from '../errors.js';

/** The user interrupted the run (Ctrl-C): no retry, no tag; the CLI exits 130 with a one-line message. */
export class InterruptedError extends ShaleError {
  constructor() {
    super('SHALE_INTERRUPTED', 'interrupted; nothing was tagged, and the next run picks up where this one stopped');
    this.name = 'InterruptedError';
  }
}
