import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening server: the port it got, and how to stop it. */
export interface Listening {
  readonly port: number;
  /** Stop listening and drop connections (see {@link listen}). */
  close(): Promise<void>;
}

/**
 * Starts `server` on `host:port` (port 0: any free port) and resolves once
 * it listens. Closing drops `all` open connections (requests in flight
 * included), or only `idle` ones, letting requests in flight finish.
 */
export async function listen(server: Server, port: number, host: string, drop: 'all' | 'idle'): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (drop === 'all') server.closeAllConnections();
        else server.closeIdleConnections();
      }),
  };
}
