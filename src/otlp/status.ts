/**
 * The gRPC status codes the OTLP listeners answer with (google.rpc.Code).
 * OTLP/gRPC sends them as the call status; OTLP/HTTP puts them in the
 * `code` of the google.rpc.Status error body. Values equal `grpc.status`.
 */
export const GRPC_STATUS = {
  /** Undecodable or malformed request (HTTP 400, 415). */
  INVALID_ARGUMENT: 3,
  /** No OTLP endpoint at the path (HTTP 404). */
  NOT_FOUND: 5,
  /** Request too large or queue full: retry later (HTTP 413, 429). */
  RESOURCE_EXHAUSTED: 8,
  /** Method not supported (HTTP 405). */
  UNIMPLEMENTED: 12,
  /** The database cannot take the write now: retry (HTTP 503). */
  UNAVAILABLE: 14,
  /** Missing or wrong bearer token (HTTP 401). */
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GRPC_STATUS)[keyof typeof GRPC_STATUS];
