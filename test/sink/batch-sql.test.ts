import { describe, expect, it } from 'vitest';
import {
  arrayParams,
  CONFLICT_PARAM_TYPES,
  EMITTER_PARAM_TYPES,
  FIND_CONFLICTS,
  INSERT_REJECTED,
  insertRecordsSql,
  insertRejectedSql,
  RECORD_PARAM_TYPES,
  REJECTED_PARAM_TYPES,
  upsertEmittersSql,
  WRITE_BATCH,
} from '../../src/sink/batch-sql.js';

/** Every `$n::type[]` of a statement: parameter number → the types it is cast to. */
function paramsOf(sql: string): Map<number, Set<string>> {
  const found = new Map<number, Set<string>>();
  for (const m of sql.matchAll(/\$(\d+)::(\w+)\[\]/g)) {
    const n = Number(m[1]);
    if (!found.has(n)) found.set(n, new Set());
    found.get(n)?.add(m[2] as string);
  }
  return found;
}

/** The parameter numbers a statement uses, with their one type each, in order. */
function typesOf(sql: string): string[] {
  const found = paramsOf(sql);
  const numbers = [...found.keys()].sort((a, b) => a - b);
  return numbers.map((n) => {
    const types = [...(found.get(n) ?? [])];
    if (types.length !== 1) throw new Error(`$${n} is cast to ${types.join(' and ')}`);
    return `$${n}::${types[0]}`;
  });
}

const numbered = (first: number, types: readonly string[]): string[] => types.map((t, i) => `$${first + i}::${t}`);

describe('the writer\'s statements are numbered from their first parameter', () => {
  it('arrayParams numbers array parameters from the first', () => {
    expect(arrayParams(3, ['text', 'int8'])).toBe('$3::text[], $4::int8[]');
    expect(arrayParams(1, [])).toBe('');
  });

  it('each statement takes its parameters from the number given, without gaps', () => {
    expect(typesOf(insertRecordsSql(5))).toEqual(numbered(5, RECORD_PARAM_TYPES));
    expect(typesOf(upsertEmittersSql(40))).toEqual(numbered(40, EMITTER_PARAM_TYPES));
    expect(typesOf(insertRejectedSql(7))).toEqual(numbered(7, REJECTED_PARAM_TYPES));
    expect(typesOf(INSERT_REJECTED)).toEqual(numbered(1, REJECTED_PARAM_TYPES));
    expect(typesOf(FIND_CONFLICTS)).toEqual(numbered(1, CONFLICT_PARAM_TYPES));
  });

  it('the batch statement takes the records\', then the emitters\', then the rejected input\'s parameters', () => {
    const all = [...RECORD_PARAM_TYPES, ...EMITTER_PARAM_TYPES, ...REJECTED_PARAM_TYPES];
    expect(typesOf(WRITE_BATCH)).toEqual(numbered(1, all));
    expect(WRITE_BATCH).toContain(upsertEmittersSql(1 + RECORD_PARAM_TYPES.length));
    expect(WRITE_BATCH).toContain(insertRejectedSql(1 + RECORD_PARAM_TYPES.length + EMITTER_PARAM_TYPES.length));
  });
});
