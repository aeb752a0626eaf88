import { SINK_DEFAULTS } from './config.js';

/** How large the values of a row may be. */
export interface TransformLimits {
  /** Largest single string value (or key), UTF-8 bytes. Default {@link SINK_DEFAULTS.maxValueBytes}. */
  maxValueBytes: number;
  /** Largest row, as JSON, UTF-8 bytes. Default 1048576. */
  maxRecordBytes: number;
}

export const DEFAULT_LIMITS: TransformLimits = Object.freeze({ maxValueBytes: SINK_DEFAULTS.maxValueBytes, maxRecordBytes: 1_048_576 });

/** Longest `audit.action`, in characters (code points); longer ones are cut. */
export const MAX_ACTION_LENGTH = 256;
/** Longest `audit.resource.type`, in characters (code points); longer ones are cut. */
export const MAX_RESOURCE_TYPE_LENGTH = 256;
/**
 * Largest actor id, tenant id and resource id, UTF-8 bytes; longer ones are
 * cut. These columns are indexed, and a btree index entry holds at most
 * about 2.7 kB (resource type and id share one).
 */
export const MAX_INDEXED_BYTES = 1024;
/** Largest emitter sequence number: the loss accounting counts up to seq + 1 in a bigint. */
export const MAX_EMITTER_SEQ = 9_223_372_036_854_775_806n;
/** Longest `audit.emitter.id`, in characters (code points). */
export const MAX_EMITTER_ID_LENGTH = 128;
/** Deepest nesting accepted in JSON values (request, changes, attributes). */
export const MAX_JSON_DEPTH = 64;
