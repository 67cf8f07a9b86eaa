import cliProgress from 'cli-progress';
import type { Events, ShaleEvent } from '../events.js';
import { formatBytes } from './format.js';

/** Transfers smaller than this get a line when done, not a bar. */
const BAR_MIN_BYTES = 1 << 20;

/**
 * Turns library events into terminal output on stderr. On a TTY: steps, each layer as it is
 * built or reused, and a progress bar per large upload or download. Not on a TTY: quiet, except
 * for warnings and files a default exclude left out, which a user must always see.
 */
export function terminalEvents(opts: { tty: boolean; debug: boolean }): Events & { stop(): void } {
  const bars = opts.tty
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
          format: '  {name} [{bar}] {value}/{total}',
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? formatBytes(v) : String(v)),
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const live = new Map<string, cliProgress.SingleBar>();
  let usedBars = false;
  const say = (s: string) => (bars && live.size ? bars.log(`${s}\n`) : process.stderr.write(`${s}\n`));
  const sink = (e: ShaleEvent) => {
    switch (e.type) {
      case 'excluded':
        say(`note: left out ${e.path} (${e.rule}); add an exception to .shaleignore to include it`);
        return;
      case 'log':
        if (e.level === 'warn') say(`warning: ${e.message}`);
        else if (e.level === 'info') say(e.message);
        else if (e.level === 'debug' && opts.debug) say(`debug: ${e.message}`);
        return;
      case 'upload':
      case 'download': {
        if (!bars) return;
        const key = e.type === 'upload' ? e.digest : e.what;
        const label = e.type === 'upload' ? (e.name ?? e.digest.slice(7, 19)) : e.what;
        const total = e.total ?? 0;
        if (e.status === 'start' && total >= BAR_MIN_BYTES) {
          usedBars = true;
          live.set(key, bars.create(total, 0, { name: label.padEnd(16).slice(0, 40) }));
        } else if (e.status === 'progress') live.get(key)?.update(e.bytes ?? 0);
        else if (e.status === 'done') {
          const bar = live.get(key);
          if (bar) {
            bar.update(total);
            bars.remove(bar);
            live.delete(key);
          }
          say(`  ${e.type === 'upload' ? 'sent' : 'downloaded'} ${label} (${formatBytes(e.bytes ?? total)})`);
        } else if (e.type === 'upload' && e.status === 'mounted') say(`  mounted ${label} from the base repository`);
        return;
      }
      default:
        if (opts.tty) {
          const line = describe(e);
          if (line) say(line);
        }
    }
  };
  return Object.assign(sink, { stop: () => (usedBars ? bars?.stop() : undefined) });
}

function describe(e: ShaleEvent): string | undefined {
  switch (e.type) {
    case 'step':
      return `» ${e.step}${e.detail ? ` ${e.detail}` : ''}`;
    case 'layer': {
      const where = e.platform ? ` (${e.platform})` : '';
      const size = e.size !== undefined ? `, ${formatBytes(e.size)}` : '';
      if (e.status === 'built') return `  built ${e.name}${where}${size}`;
      if (e.status === 'cached') return `  reused ${e.name}${where} from the local cache${size}`;
      if (e.status === 'registry') return `  reused ${e.name}${where} from the registry${size}`;
      return undefined;
    }
    default:
      return undefined;
  }
}
