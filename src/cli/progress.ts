import type { Events, ShaleEvent } from '../events.js';

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Turns library events into terminal output on stderr. On a TTY it shows steps, layers and
 * uploads as they happen; otherwise it stays quiet except for warnings and excluded files,
 * which a user must always see.
 */
export function terminalEvents(opts: { tty: boolean; debug: boolean }): Events {
  const w = (s: string) => process.stderr.write(`${s}\n`);
  return (e: ShaleEvent) => {
    switch (e.type) {
      case 'excluded':
        w(`note: left out ${e.path} (${e.rule}); add an exception to .shaleignore to include it`);
        return;
      case 'log':
        if (e.level === 'warn') w(`warning: ${e.message}`);
        else if (e.level === 'info' && opts.tty) w(e.message);
        else if (e.level === 'debug' && opts.debug) w(`debug: ${e.message}`);
        return;
      default:
        if (opts.tty) {
          const line = describe(e);
          if (line) w(line);
        }
    }
  };
}

function describe(e: ShaleEvent): string | undefined {
  switch (e.type) {
    case 'step':
      return `» ${e.step}${e.detail ? ` ${e.detail}` : ''}`;
    case 'layer':
      if (e.status === 'building') return `  building ${e.name}${e.platform ? ` (${e.platform})` : ''}`;
      if (e.status === 'built' || e.status === 'cached' || e.status === 'registry')
        return `  ${e.name}${e.platform ? ` (${e.platform})` : ''}: ${e.status === 'built' ? 'built' : `reused from ${e.status === 'cached' ? 'cache' : 'registry'}`}${e.size !== undefined ? `, ${mb(e.size)}` : ''}`;
      return undefined;
    case 'upload':
      if (e.status === 'done') return `  pushed ${e.name ?? e.digest.slice(0, 19)}${e.bytes !== undefined ? ` (${mb(e.bytes)})` : ''}`;
      if (e.status === 'mounted') return `  mounted ${e.name ?? e.digest.slice(0, 19)}`;
      return undefined;
    case 'download':
      return e.status === 'start' ? `  downloading ${e.what}` : undefined;
    default:
      return undefined;
  }
}
