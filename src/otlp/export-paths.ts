/** gRPC method paths of the OTLP export services (opentelemetry/proto/collector/.../*_service.proto). */

/** gRPC method path of LogsService/Export. */
export const OTLP_LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** gRPC method path of TraceService/Export. */
export const OTLP_TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
