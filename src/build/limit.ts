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
