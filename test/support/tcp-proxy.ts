// A loopback TCP proxy in front of a real server, that a test can cut and
// restore: the server stays up for everyone else while this client loses it.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drop every connection and refuse new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Stop forwarding the server's replies (connections stay open) until release(). */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let open = true;
  let held = false;
  const sockets = new Set<Socket>();
  const flushers = new Set<() => void>();
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    // Replies go through a queue that hold() stops and release() flushes.
    const queued: Buffer[] = [];
    let ended = false;
    const flush = () => {
      while (!held && queued.length > 0) client.write(queued.shift()!);
      if (ended && queued.length === 0) client.end();
    };
    upstream.on('data', (chunk: Buffer) => {
      queued.push(chunk);
      flush();
    });
    upstream.on('end', () => {
      ended = true;
      flush();
    });
    flushers.add(flush);
    upstream.on('close', () => flushers.delete(flush));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const flush of flushers) flush();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
