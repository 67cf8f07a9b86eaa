// A byte-counting TCP proxy in front of the registry: every byte a client sends (up) and receives
// (down) on the wire, HTTP headers included, whatever the tool. It forwards raw TCP, so the Host
// header stays the proxy's and the registry's absolute upload Locations point back through it.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface WireCounts {
  /** Bytes from clients to the registry. */
  up: number;
  /** Bytes from the registry to clients. */
  down: number;
  /** TCP connections opened. */
  connections: number;
}

export interface CountingProxy {
  /** `127.0.0.1:PORT`: use it in image references instead of the registry's host. */
  host: string;
  /** Counts since the last reset. */
  counts(): WireCounts;
  /** Zeroes the counts (call between measured commands, when no transfer is in flight). */
  reset(): void;
  stop(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const [thost, tportText] = target.split(':');
  const tport = Number(tportText);
  if (!thost || !Number.isInteger(tport)) throw new Error(`bad proxy target ${target}; expected host:port`);
  let c: WireCounts = { up: 0, down: 0, connections: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    c.connections++;
    const upstream = createConnection({ host: thost, port: tport });
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (b: Buffer) => {
      c.up += b.length;
      if (!upstream.write(b)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (b: Buffer) => {
      c.down += b.length;
      if (!client.write(b)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    counts: () => ({ ...c }),
    reset: () => {
      c = { up: 0, down: 0, connections: 0 };
    },
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
