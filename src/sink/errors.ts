/**
 * The database cannot take the write now (down, slow, or the queue is full):
 * the client must retry. Mapped to gRPC UNAVAILABLE / RESOURCE_EXHAUSTED and
 * HTTP 503 with Retry-After.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly kind: 'unavailable' | 'exhausted' = 'unavailable',
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}
