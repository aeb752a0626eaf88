/**
 * The keyset cursor of a record list: the (occurred_at, id) of the last row
 * of a page, newest first. The next page is the rows strictly before it in
 * that order, found through the indexes on occurred_at; no OFFSET, so a page
 * deep in the list costs what the first one does.
 */
import { parseTimeBound } from '../compliance/export-time.js';
import { HttpError } from './http-error.js';

export interface Cursor {
  /** occurred_at, ISO with microseconds (the row's exact value). */
  at: string;
  /** id, decimal. */
  id: string;
}

const ID = /^[1-9]\d{0,18}$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const raw = Buffer.from(text, 'base64url').toString('utf8');
  const bar = raw.indexOf('|');
  const at = raw.slice(0, bar);
  const id = raw.slice(bar + 1);
  if (bar < 0 || !ID.test(id)) throw new HttpError(400, 'bad_cursor', 'the cursor is not one this API gave out');
  try {
    return { at: parseTimeBound(at, 'cursor').iso, id };
  } catch {
    throw new HttpError(400, 'bad_cursor', 'the cursor is not one this API gave out');
  }
}

/**
 * Rows after the cursor in (occurred_at DESC, id DESC) order. The plain
 * `occurred_at <=` bound lets every occurred_at index serve it; the second
 * condition breaks ties between rows of the same microsecond.
 */
export function cursorClause(cursor: Cursor, params: unknown[]): string {
  params.push(cursor.at, cursor.id);
  const at = `$${params.length - 1}::timestamptz`;
  const id = `$${params.length}::bigint`;
  return `r.occurred_at <= ${at} AND (r.occurred_at < ${at} OR r.id < ${id})`;
}
