/**
 * shale's errors. Each has a stable machine `code` and an `exitCode` for the CLI:
 * 2 for bad input (config, arguments, lock, references), 1 for runtime failures.
 * Messages are one readable paragraph naming the file/key/package at fault and what to do.
 */
export class ShaleError extends Error {
  readonly code: string;
  readonly exitCode: 1 | 2;
  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: 1 | 2 } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShaleError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad input from the user: config, arguments, lock files, references. Exit code 2. */
export class InputError extends ShaleError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2 });
    this.name = 'InputError';
  }
}

/** Wraps an error with the action that failed ("pushing layer app: ..."), keeping code and exit code. */
export function wrap(action: string, err: unknown): ShaleError {
  if (err instanceof ShaleError) {
    const e = new ShaleError(err.code, `${action}: ${err.message}`, { cause: err, exitCode: err.exitCode });
    return e;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ShaleError('SHALE_RUNTIME', `${action}: ${msg}`, { cause: err });
}
