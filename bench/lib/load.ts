/**
 * Load generation: autocannon against an app on 127.0.0.1, each connection
 * cycling through a list of requests, as many as the app takes or at a
 * fixed overall rate.
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  connections: number;
  /** Requests per second over all connections; undefined: as many as the app takes. */
  rate: number | undefined;
  /** What each connection sends, in turn. */
  requests: autocannon.Request[];
}

export async function load(port: number, seconds: number, opts: LoadOptions): Promise<autocannon.Result> {
  return await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: opts.connections,
    duration: seconds,
    requests: opts.requests,
    ...(opts.rate !== undefined ? { overallRate: opts.rate } : {}),
  });
}
