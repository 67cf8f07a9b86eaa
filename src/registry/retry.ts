import { NetworkError } from '../http/client.js';
import { RegistryError } from './errors.js';

// The budget, backoff and clock are the HTTP layer's (src/http/retry.ts), shared with package downloads.
export {
  DEFAULT_RETRY,
  RetryBudget,
  backoffDelay,
  budgetFromEnv,
  parseRetryAfter,
  retryLine,
  systemClock,
  type Clock,
  type RetryPolicy,
} from '../http/retry.js';

/** Whether an error is worth retrying: a temporary network error, or a 408/429/5xx without a final error code. */
export const isTemporary = (err: unknown): boolean => (err instanceof RegistryError || err instanceof NetworkError) && err.temporary;

/** What to do after a blob of a push gave up: the push stops before its manifests, and nothing sent is lost. */
export const BLOB_HINT = 'run the same command again: blobs already pushed are kept, and the tag was not moved';
/** What to do after a manifest of a push gave up. */
export const PUSH_HINT = 'run the same command again: blobs already pushed are kept';
/** What to do after any other registry operation gave up. */
export const RETRY_HINT = 'run the same command again once the registry answers';
