/** Bounding a whole row's size: its largest JSON values give way first. */
import * as A from '../contract/attributes.js';
import { setOwn } from './decoded-values.js';
import { fail } from './row-checks.js';
import type { AuditRow } from './row.js';
import type { Sanitizer } from './sanitizer.js';
import { shortHash } from './storable.js';

/** JSON values smaller than this (bytes as JSON) are never cut: the marker would be about as large. */
const MIN_CUT_BYTES = 64;
/** Key of the attributes column that is never cut (it identifies the emitting library). */
const KEPT_ATTRIBUTE = 'scope';

/** A JSON value of the row that may be replaced by a cut marker. */
interface Slot {
  size: number;
  column: string;
  name: string;
  get(): unknown;
  set(v: unknown): void;
}

function jsonBytes(v: unknown): number {
  return v === null || v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v), 'utf8');
}

function slotsOf(row: AuditRow): Slot[] {
  const slots: Slot[] = [];
  const add = (column: string, name: string, get: () => unknown, set: (v: unknown) => void): void => {
    slots.push({ size: jsonBytes(get()), column, name, get, set });
  };
  add('request', A.ATTR_AUDIT_REQUEST, () => row.request, (v) => (row.request = v));
  add('change_before', A.ATTR_AUDIT_CHANGE_BEFORE, () => row.changeBefore, (v) => (row.changeBefore = v));
  add('change_after', A.ATTR_AUDIT_CHANGE_AFTER, () => row.changeAfter, (v) => (row.changeAfter = v));
  for (const k of Object.keys(row.attributes)) {
    if (k === KEPT_ATTRIBUTE) continue;
    add('attributes', k, () => row.attributes[k], (v) => setOwn(row.attributes, k, v));
  }
  return slots.sort((a, b) => b.size - a.size);
}

/**
 * Keeps the whole row within maxRecordBytes: the largest JSON values
 * (request, changes, then record attributes) are replaced by a cut marker
 * until it fits, each cut noted on `sanitizer`. A row still too large (its
 * text columns alone) is refused.
 */
export function fitRecord(row: AuditRow, sanitizer: Sanitizer): AuditRow {
  const limit = sanitizer.limits.maxRecordBytes;
  let bytes = jsonBytes(row);
  if (bytes <= limit) return row;
  const original = bytes;
  for (const slot of slotsOf(row)) {
    if (bytes <= limit) break;
    if (slot.size < MIN_CUT_BYTES) continue;
    const json = JSON.stringify(slot.get());
    const marker = `[cut: ${slot.size} bytes as JSON, sha256 ${shortHash(json)}]`;
    slot.set(marker);
    bytes -= slot.size - jsonBytes(marker);
    sanitizer.alter(slot.column, `${slot.name}: cut (the record was ${original} bytes as JSON; the limit is ${limit})`);
  }
  bytes = jsonBytes(row);
  if (bytes > limit) fail(`record is ${bytes} bytes as JSON even with its JSON values cut; the limit is ${limit}`);
  return row;
}
