/**
 * The ports of `npm run pipeline`, checked before anything starts: a busy
 * port is one line naming it and the flag that moves it, instead of a child
 * failing to bind somewhere in its log.
 */
import { createServer } from 'node:net';

export interface PortUse {
  port: number;
  /** What listens there, e.g. "collector OTLP/gRPC". */
  what: string;
  /** The flag that sets it, e.g. "--otlp-grpc-port". */
  flag: string;
}

/** Whether host:port can be bound now (closed again at once). */
function canBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** The first problem with the ports (the same port twice, a port in use), as one line; undefined when all are free. */
export async function portProblem(host: string, uses: readonly PortUse[]): Promise<string | undefined> {
  const seen = new Map<number, PortUse>();
  for (const u of uses) {
    const other = seen.get(u.port);
    if (other) return `port ${u.port} is given to both ${other.what} (${other.flag}) and ${u.what} (${u.flag}); choose another with one of them`;
    seen.set(u.port, u);
  }
  for (const u of uses) {
    const err = await canBind(host, u.port);
    if (!err) continue;
    if (err.code === 'EADDRINUSE') return `port ${u.port} (${u.what}) is in use on ${host}; stop what listens there or choose another port with ${u.flag} N`;
    if (err.code === 'EACCES') return `port ${u.port} (${u.what}) needs privileges on ${host}; choose another port with ${u.flag} N`;
    return `port ${u.port} (${u.what}) cannot be bound on ${host}: ${err.message}`;
  }
  return undefined;
}
