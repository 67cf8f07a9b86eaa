/**
 * Runs at most `n` tasks at once, in the order they ask. Layer builds go through one so that
 * compressing layers uses the cores without holding every layer's buffers at once.
 */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}
