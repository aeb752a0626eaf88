/**
 * The writer on Postgres with each write method (binary COPY through a
 * staging table, and unnest arrays): values stored exactly, redelivery
 * harmless within a batch and across concurrent batches, conflicts and
 * rejected input kept, emitters accounted, refused data set aside.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { usableWriteMethod } from '../../src/sink/batch-insert.js';
import { CONFLICT_REASON } from '../../src/sink/batch-store.js';
import { resolveSinkConfig } from '../../src/sink/config.js';
import type { AuditRow } from '../../src/sink/row.js';
import { Writer } from '../../src/sink/writer.js';
import { WRITE_METHODS, type BatchReport, type RejectedInput, type SubmitSource } from '../../src/sink/writer-types.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';

const SOURCE: SubmitSource = { signal: 'logs', wireFormat: 'grpc', peer: 'ipv4:127.0.0.1:1' };

let drop: () => Promise<void>;
let db: Database;
let dbName: string;
let dbUrl: string;
beforeAll(async () => {
  const t = await createTestDatabase();
  drop = t.drop;
  dbName = t.name;
  dbUrl = t.url;
  db = await openDatabase({ url: t.url, poolSize: 4 });
  await migrate(db);
});
afterAll(async () => {
  await db?.close();
  await drop?.();
});

let n = 0;
/** A row with a fresh trace id. */
function row(over: Partial<AuditRow> = {}): AuditRow {
  return {
    traceId: `3c${(++n).toString(16).padStart(30, '0')}`,
    spanId: '00f067aa0ba902b7',
    occurredAt: '2026-11-21T12:00:00.123456Z',
    serviceName: 'billing',
    module: 'core',
    actorId: 'u-1',
    actorName: 'Zoë "q"\tx\n',
    actorType: 'user',
    tenantId: 't-1',
    action: 'invoice.update',
    resourceType: 'invoice',
    resourceId: 'inv-1',
    outcome: 'success',
    statusCode: 200,
    httpMethod: 'PUT',
    httpRoute: '/invoices/:id',
    urlPath: '/invoices/1',
    clientIp: '10.0.0.7',
    userAgent: 'curl/8',
    durationMs: 1.25,
    level: 'full',
    request: { body: { amount: 0.1, note: 'héllo € 🎉', none: null } },
    changeBefore: null,
    changeAfter: [1, 'a', true],
    attributes: { 'audit.meta.reason': 'correction' },
    emitterId: null,
    emitterSeq: null,
    ...over,
  };
}

function rejectedInput(reason: string): RejectedInput {
  return { ...SOURCE, reason, raw: Buffer.from([0, 1, 2, 255]), record: { reason }, peer: SOURCE.peer };
}

describe.each(WRITE_METHODS)('the writer with --write-method %s', (method) => {
  let writer: Writer;
  const reports: BatchReport[] = [];
  beforeAll(() => {
    writer = new Writer(db, { method, maxDelayMs: 0, concurrency: 2 }, (b) => reports.push(b));
  });
  afterAll(async () => {
    await writer.close();
  });

  const stored = async (traceId: string): Promise<Record<string, string | null>[]> =>
    (
      await db.query<Record<string, string | null>>(
        `SELECT occurred_at::text, host(client_ip) AS client_ip, status_code::text, duration_ms::text, emitter_seq::text, actor_name, request::text,
                change_before::text, change_after::text, attributes::text, content_hash IS NOT NULL AS hashed
           FROM audit.records WHERE trace_id = $1 ORDER BY id`,
        [traceId],
      )
    ).rows;
  const rejectedWith = async (text: string): Promise<{ reason: string; raw: Buffer | null }[]> =>
    (await db.query<{ reason: string; raw: Buffer | null }>('SELECT reason, raw FROM audit.rejected WHERE reason LIKE $1 ORDER BY id', [`%${text}%`])).rows;

  it('stores every value exactly: microseconds, IPv4 and IPv6, numbers, bigints, text and JSON with any characters', async () => {
    const rows = [
      row(),
      row({ occurredAt: '0001-01-01T00:00:00.000001Z', clientIp: '2001:db8::1', statusCode: -5, durationMs: -0.5, emitterId: `e-${method}-x`, emitterSeq: '9223372036854775806' }),
      row({ occurredAt: '9999-12-31T23:59:59.999999Z', clientIp: null, statusCode: null, durationMs: null, request: null, attributes: {} }),
    ];
    const result = await writer.submit(rows, [], SOURCE);
    expect(result).toEqual({ rejected: 0, conflicts: 0, reasons: [] });
    const [a, b, c] = await Promise.all(rows.map((r) => stored(r.traceId)));
    expect(a).toEqual([
      {
        occurred_at: '2026-11-21 12:00:00.123456+00',
        client_ip: '10.0.0.7',
        status_code: '200',
        duration_ms: '1.25',
        emitter_seq: null,
        actor_name: 'Zoë "q"\tx\n',
        request: '{"body": {"none": null, "note": "héllo € 🎉", "amount": 0.1}}',
        change_before: null,
        change_after: '[1, "a", true]',
        attributes: '{"audit.meta.reason": "correction"}',
        hashed: true,
      },
    ]);
    expect(b?.[0]).toMatchObject({ occurred_at: '0001-01-01 00:00:00.000001+00', client_ip: '2001:db8::1', status_code: '-5', duration_ms: '-0.5', emitter_seq: '9223372036854775806' });
    expect(c?.[0]).toMatchObject({ occurred_at: '9999-12-31 23:59:59.999999+00', client_ip: null, status_code: null, duration_ms: null, request: null, attributes: '{}' });
  });

  it('a redelivered submission adds no row, whether in the same batch or in concurrent ones', async () => {
    const rows = [row(), row(), row()];
    const before = reports.reduce((s, r) => s + r.duplicates, 0);
    // The same rows twice in one submission, then twice more at once (two writers).
    await writer.submit([...rows, rows[0] as AuditRow], [], SOURCE);
    const again = await Promise.all([writer.submit(rows, [], SOURCE), writer.submit(rows.map((r) => ({ ...r })), [], SOURCE)]);
    expect(again.every((r) => r.rejected === 0 && r.conflicts === 0)).toBe(true);
    for (const r of rows) expect(await stored(r.traceId)).toHaveLength(1);
    expect(reports.reduce((s, r) => s + r.duplicates, 0) - before).toBe(7);
  });

  it('an existing key with other content is a conflict, kept in audit.rejected with reason conflict; its batch is stored', async () => {
    const first = row();
    await writer.submit([first], [], SOURCE);
    const other = row();
    const result = await writer.submit([{ ...first, outcome: 'failure', statusCode: 500 }, other], [], SOURCE);
    expect(result).toMatchObject({ rejected: 1, conflicts: 1 });
    expect(result.reasons[0]).toContain(`${CONFLICT_REASON}: a record with the key of this one (trace ${first.traceId}`);
    expect(await stored(first.traceId)).toHaveLength(1);
    expect(await stored(other.traceId)).toHaveLength(1);
    const kept = (await rejectedWith(CONFLICT_REASON)).filter((r) => r.raw?.toString().includes(first.traceId));
    expect(kept).toEqual([{ reason: CONFLICT_REASON, raw: expect.any(Buffer) }]);
    // Within one batch too: the second of two contents under one key.
    const inBatch = row();
    const r2 = await writer.submit([inBatch, { ...inBatch, actorId: 'u-2' }], [], SOURCE);
    expect(r2).toMatchObject({ rejected: 1, conflicts: 1 });
    expect(await stored(inBatch.traceId)).toHaveLength(1);
  });

  it('keeps rejected input verbatim, alone or with rows', async () => {
    const reason = `undecodable ${method} ${n}`;
    await writer.submit([], [rejectedInput(reason)], SOURCE);
    const withRow = row();
    await writer.submit([withRow], [rejectedInput(`${reason} with a row`)], SOURCE);
    expect(await rejectedWith(reason)).toEqual([
      { reason, raw: Buffer.from([0, 1, 2, 255]) },
      { reason: `${reason} with a row`, raw: Buffer.from([0, 1, 2, 255]) },
    ]);
    expect(await stored(withRow.traceId)).toHaveLength(1);
  });

  it('accounts each emitter\'s sequence numbers, gaps included', async () => {
    const id = `e-${method}`;
    await writer.submit([1, 2, 4].map((s) => row({ emitterId: id, emitterSeq: String(s) })), [], SOURCE);
    const e1 = await db.query<{ seen: string; max_seq: string; gap: boolean }>('SELECT seen::text, max_seq::text, gap_since IS NOT NULL AS gap FROM audit.emitters WHERE emitter_id = $1', [id]);
    expect(e1.rows).toEqual([{ seen: '{[1,3),[4,5)}', max_seq: '4', gap: true }]);
    await writer.submit([row({ emitterId: id, emitterSeq: '3' })], [], SOURCE);
    const e2 = await db.query<{ seen: string; gap: boolean }>('SELECT seen::text, gap_since IS NOT NULL AS gap FROM audit.emitters WHERE emitter_id = $1', [id]);
    expect(e2.rows).toEqual([{ seen: '{[1,5)}', gap: false }]);
  });

  it('sets aside an export whose values the database refuses, and stores the others of its batch', async () => {
    const nul = row({ actorName: `a${String.fromCharCode(0)}b` });
    const big = row({ statusCode: 2 ** 40 });
    const fine = row();
    const [r1, r2, r3] = await Promise.all([writer.submit([nul], [], SOURCE), writer.submit([big], [], SOURCE), writer.submit([fine], [], SOURCE)]);
    expect(r1).toMatchObject({ rejected: 1, conflicts: 0 });
    expect(r1.reasons[0]).toMatch(/^the database refused the export: /);
    expect(r2).toMatchObject({ rejected: 1, conflicts: 0 });
    expect(r2.reasons[0]).toMatch(/out of range|not an int4/);
    expect(r3).toEqual({ rejected: 0, conflicts: 0, reasons: [] });
    expect(await stored(nul.traceId)).toHaveLength(0);
    expect(await stored(big.traceId)).toHaveLength(0);
    expect(await stored(fine.traceId)).toHaveLength(1);
    const kept = await rejectedWith('the database refused the export');
    expect(kept.filter((k) => k.raw?.toString().includes(nul.traceId))).toHaveLength(1);
    expect(kept.filter((k) => k.raw?.toString().includes(big.traceId))).toHaveLength(1);
  });
});

describe('the method the writer can use', () => {
  it('copy on Postgres for a user who may create temporary tables; unnest when asked', async () => {
    expect(await usableWriteMethod(db, 'copy')).toEqual({ method: 'copy' });
    expect(await usableWriteMethod(db, 'unnest')).toEqual({ method: 'unnest' });
  });

  it('unnest, with the reason, for a user who may not create temporary tables', async () => {
    const role = `t_notemp_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE ROLE ${role} LOGIN; REVOKE TEMPORARY ON DATABASE ${dbName} FROM PUBLIC;`);
    const url = new URL(dbUrl);
    url.username = role;
    const limited = await openDatabase({ url: url.toString(), poolSize: 1 });
    try {
      const got = await usableWriteMethod(limited, 'copy');
      expect(got.method).toBe('unnest');
      expect(got.reason).toContain('may not create temporary tables');
    } finally {
      await limited.close();
      await adminQuery(`GRANT TEMPORARY ON DATABASE ${dbName} TO PUBLIC; DROP ROLE ${role};`);
    }
  });
});

describe('the write method option', () => {
  // The embedded database takes unnest whatever the option says: test/sink/pglite.test.ts runs the sink there with the default.
  it('defaults to copy and refuses a method it does not know', () => {
    expect(resolveSinkConfig({}).writeMethod).toBe('copy');
    expect(() => resolveSinkConfig({ writeMethod: 'bulk' as never })).toThrow('write method "bulk" is not one of copy, unnest');
  });
});
