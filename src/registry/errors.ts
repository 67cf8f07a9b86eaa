import { ShaleError } from '../errors.js';

/** One entry of a registry's error body (distribution spec, "Error Codes"). */
export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** Error codes that are answers, never worth a retry whatever the status says (README: retries). */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['DIGEST_INVALID', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'NAME_UNKNOWN']);

/**
 * A registry answered with an error status. Carries the status and the registry's structured
 * errors, whether the failure is temporary (worth retrying: 408, 429, 5xx, unless a code says it is
 * final), and how long the registry asked to wait (`Retry-After`).
 */
export class RegistryError extends ShaleError {
  readonly statusCode: number;
  readonly errors: readonly RegistryErrorEntry[];
  readonly temporary: boolean;
  /** Milliseconds the registry asked to wait before the next try (`Retry-After`), when it said. */
  retryAfterMs?: number;
  constructor(action: string, statusCode: number, errors: readonly RegistryErrorEntry[], code = 'SHALE_REGISTRY_ERROR', options: { cause?: unknown } = {}) {
    super(code, `${action}: ${describe(statusCode, errors)}`, options);
    this.name = 'RegistryError';
    this.statusCode = statusCode;
    this.errors = errors;
    this.temporary = isTemporaryStatus(statusCode) && !errors.some((e) => PERMANENT_CODES.has(e.code));
  }
  /** Whether any structured error has one of these codes (e.g. MANIFEST_UNKNOWN). */
  hasCode(...codes: string[]): boolean {
    return this.errors.some((e) => codes.includes(e.code));
  }
}

/** 408, 429 and 5xx are worth retrying; everything else is an answer. */
export const isTemporaryStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/** Parses a registry error body; tolerates bodies that are not the spec's JSON. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  if (text.trim() === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'errors' in parsed && Array.isArray(parsed.errors)) {
      const out: RegistryErrorEntry[] = [];
      for (const e of parsed.errors as unknown[]) {
        if (e && typeof e === 'object') {
          const rec = e as Record<string, unknown>;
          out.push({ code: String(rec['code'] ?? 'UNKNOWN'), message: String(rec['message'] ?? '') });
        }
      }
      return out;
    }
  } catch {
    // not JSON: keep a short excerpt so the message still says something
  }
  return [{ code: 'UNKNOWN', message: text.trim().slice(0, 200) }];
}

function describe(status: number, errors: readonly RegistryErrorEntry[]): string {
  const detail = errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  return `registry answered ${status}${detail ? ` (${detail})` : ''}`;
}

/** The bytes a registry sent do not hash to the digest they were asked for. */
export function digestMismatch(what: string, expected: string, actual: string): ShaleError {
  return new ShaleError(
    'SHALE_DIGEST_MISMATCH',
    `${what}: content digest mismatch: expected ${expected}, got ${actual}; the registry or a proxy served wrong bytes, try again or check the registry`,
  );
}

/** Ctrl-C: defined with the HTTP layer (src/http), which every network wait watches. */
export { InterruptedError } from '../http/errors.js';
