/**
 * Protobuf messages of the OTLP schema to and from bytes and plain objects.
 */
import protobuf from 'protobufjs';
import type { IConversionOptions, Message, Type } from 'protobufjs';

/**
 * `toObject` options used by the decoders: 64-bit integers as decimal strings,
 * enums as numbers, bytes as they were decoded (a `Buffer` when decoded with
 * {@link decodeMessage}), defaults filled in for
 * absent fields, empty arrays for absent repeated fields, and the name of the
 * set member on each oneof (`AnyValue.value`).
 */
export const OTLP_TO_OBJECT_OPTIONS: Readonly<IConversionOptions> = Object.freeze({
  longs: String,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
});

/** A Buffer view of `bytes` (no copy), so that decoded `bytes` fields are Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes `bytes` as a message of `type` (throws on malformed input). */
export function decodeMessage(type: Type, bytes: Uint8Array): Message {
  return type.decode(asBuffer(bytes));
}

/** Encodes a decoded message, or a plain object in protobufjs' camelCase form. */
export function encodeMessage(type: Type, value: Message | Record<string, unknown>): Uint8Array {
  const message = value instanceof protobuf.Message ? value : type.fromObject(value);
  return type.encode(message).finish();
}

/** Converts a decoded message to a plain object with {@link OTLP_TO_OBJECT_OPTIONS}. */
export function toPlainObject(type: Type, message: Message): Record<string, unknown> {
  return type.toObject(message, OTLP_TO_OBJECT_OPTIONS);
}
