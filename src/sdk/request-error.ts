import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';

/**
 * Records an error a framework answers itself (NestJS's exception filters)
 * on the HTTP server span of the current request,
 * as an `exception` event: the span ends with the response, and the record
 * of a failure takes its message from the first such event. The server span
 * is the one the HTTP instrumentation put in the request's context. Its
 * status is left to the HTTP instrumentation (a 4xx answer is no server
 * error). Values that are not errors are left alone, and so are errors
 * that say they answer with a status below 500 (a `statusCode`, Nest's
 * `HttpException`): those are the client's, not a failure to explain.
 */
export function recordRequestError(err: unknown): void {
  if (!(err instanceof Error)) return;
  const status = statusOf(err);
  if (status !== undefined && status < 500) return;
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type !== RPCType.HTTP) return;
  const span = metadata.span;
  if (!span.isRecording()) return;
  span.recordException(err);
}

function statusOf(err: Error): number | undefined {
  const e = err as Error & { statusCode?: unknown; getStatus?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.getStatus === 'function') {
    const status: unknown = (e.getStatus as () => unknown).call(err);
    if (typeof status === 'number') return status;
  }
  return undefined;
}
