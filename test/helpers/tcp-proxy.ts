import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, that a test can cut:
 * `cut()` destroys every open connection and refuses new ones until
 * `restore()`. Stands for "the database went away" without stopping the
 * shared database server.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  /**
   * Close every connection on the server's side only: the client's end stays
   * open, unaware, and is reset when it next sends (a connection that went
   * stale behind a load balancer or NAT, or across a failover). New
   * connections go through.
   */
  sever(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** Client sockets by their upstream, for {@link TcpProxy.sever}. */
  const clients = new Map<Socket, Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    clients.set(upstream, client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      clients.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    sever() {
      for (const [upstream, client] of [...clients]) {
        clients.delete(upstream);
        sockets.delete(upstream);
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.removeAllListeners('close').removeAllListeners('error').on('error', () => {});
        upstream.destroy();
        client.removeAllListeners('close').removeAllListeners('error').on('error', () => {});
        client.once('data', () => client.resetAndDestroy());
        client.resume();
      }
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
