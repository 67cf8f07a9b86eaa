/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of start, and rejects
 * with the first failure (calls already started are left to settle; none new start).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Runs at most `n` tasks at once; waiting tasks start heaviest first (ties in the order they
 * asked). Layer builds go through one: compressing uses every core without holding every
 * layer's buffers at once, and starting the biggest layers first keeps one huge layer from
 * running alone on one core at the end.
 */
export function limiter(n: number): <T>(task: () => Promise<T>, weight?: number) => Promise<T> {
  let active = 0;
  let order = 0;
  const waiting: { weight: number; order: number; start: () => void }[] = [];
  const next = () => {
    if (active >= n || !waiting.length) return;
    waiting.sort((a, b) => b.weight - a.weight || a.order - b.order);
    active++;
    waiting.shift()!.start();
  };
  return async <T>(task: () => Promise<T>, weight = 0): Promise<T> => {
    await new Promise<void>((start) => {
      waiting.push({ weight, order: order++, start });
      // After the current turn, so tasks queued together are started heaviest first.
      setImmediate(next);
    });
    try {
      return await task();
    } finally {
      active--;
      next();
    }
  };
}
