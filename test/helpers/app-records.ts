import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { request, type AppProcess } from './app-process.js';
import type { OtlpReceiver } from './otlp-receiver.js';

export interface AppRequestInit {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the JSON body as a stream, without Content-Length. */
  chunked?: boolean;
}

/**
 * Sends one request to `app` under a trace id of its own and returns its
 * status, response body and the audit records of that trace (waiting for
 * `expected` of them, then a little longer for a wrongly emitted extra one).
 */
export async function recordsOf(
  receiver: OtlpReceiver,
  app: AppProcess,
  method: string,
  path: string,
  init: AppRequestInit = {},
  expected = 1,
): Promise<{ status: number; body: unknown; records: DecodedLogRecord[]; traceId: string }> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const headers = { traceparent: `00-${traceId}-${'4'.repeat(16)}-01`, ...init.headers };
  let res: { status: number; body: unknown };
  if (init.chunked) {
    const bytes = new TextEncoder().encode(JSON.stringify(init.body));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    // `duplex` is required by fetch for a stream body; the DOM typings lack it.
    const requestInit = { method, headers: { ...headers, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit;
    const response = await fetch(app.url + path, requestInit);
    res = { status: response.status, body: await response.text() };
  } else {
    res = await request(app.url, method, path, { ...(init.body !== undefined ? { body: init.body } : {}), headers });
  }
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  if (expected > 0) await receiver.waitFor(() => of().length >= expected);
  await new Promise((r) => setTimeout(r, 300));
  return { status: res.status, body: res.body, records: of(), traceId };
}
