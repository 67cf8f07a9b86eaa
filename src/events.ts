/**
 * Progress and log events. The library never prints; it calls an `Events` sink, and only the
 * CLI turns events into output.
 */
export type ShaleEvent =
  | { type: 'log'; level: 'info' | 'warn' | 'debug'; message: string }
  | { type: 'step'; step: string; detail?: string }
  | {
      type: 'layer';
      name: string;
      platform?: string;
      status: 'planned' | 'building' | 'built' | 'cached' | 'registry' | 'base';
      digest?: string;
      size?: number;
      reason?: string;
    }
  | { type: 'upload'; digest: string; name?: string; status: 'start' | 'progress' | 'done' | 'exists' | 'mounted'; bytes?: number; total?: number }
  | { type: 'download'; what: string; status: 'start' | 'progress' | 'done'; bytes?: number; total?: number }
  | { type: 'excluded'; path: string; rule: string };

export type Events = (e: ShaleEvent) => void;

/** An events sink that drops everything. */
export const noEvents: Events = () => {};
