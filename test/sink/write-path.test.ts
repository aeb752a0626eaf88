import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../../src/assets.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { int, logsRequest, postLogs, str, type OtlpAttr } from '../helpers/otlp-logs.js';
import { createTestDatabase } from '../helpers/pg.js';
import { seedRecords } from '../helpers/records.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  // A batch waits 100 ms for company, so that concurrent exports share a database statement.
  t = await startTestSink('postgres', { batchDelayMs: 100 });
});
afterAll(async () => {
  await t?.stop();
});

let n = 0;
/** A fresh trace id (32 hex) per call. */
const trace = (): string => `7a${(++n).toString(16).padStart(30, '0')}`;
const SPAN = '5a00000000000001';
const post = (records: Parameters<typeof logsRequest>[0], service?: string) => postLogs(t.httpEndpoint, logsRequest(records, service));
const rowsOf = (traceId: string) => t.rows(`trace_id = '${traceId}'`);
const rejectedOf = async (traceId: string) =>
  (await t.rejected()).filter((r) => JSON.stringify(r['record'] ?? '').includes(traceId) || String(r['raw'] ?? '').includes(traceId));

describe('every record of an export is committed or reported rejected', () => {
  it('an emitter sequence number the loss accounting cannot hold is rejected up front; its neighbours are stored', async () => {
    const tr = trace();
    const answer = await post([
      { traceId: tr, spanId: '5a00000000000001', attributes: [str('audit.action', 'seq.max'), str('audit.emitter.id', 'e-max'), int('audit.emitter.seq', '9223372036854775807')] },
      { traceId: tr, spanId: '5a00000000000002', attributes: [str('audit.action', 'seq.ok'), str('audit.emitter.id', 'e-max'), int('audit.emitter.seq', '9223372036854775806')] },
      { traceId: tr, spanId: '5a00000000000003', attributes: [str('audit.action', 'seq.one'), str('audit.emitter.id', 'e-max'), int('audit.emitter.seq', 1)] },
    ]);
    expect(answer).toMatchObject({ status: 200, rejected: 1 });
    expect(answer.message).toContain('audit.emitter.seq 9223372036854775807');
    expect((await rowsOf(tr)).map((r) => r['action']).sort()).toEqual(['seq.ok', 'seq.one']);
    const rejected = await rejectedOf(tr);
    expect(rejected).toHaveLength(1);
    expect(String(rejected[0]!['reason'])).toContain('audit.emitter.seq');
    const emitter = await t.sink.db.query<{ max_seq: string }>("SELECT max_seq::text FROM audit.emitters WHERE emitter_id = 'e-max'");
    expect(emitter.rows[0]?.max_seq).toBe('9223372036854775806');
  });

  it('a level outside the contract\'s is rejected and kept in audit.rejected; its neighbours are stored', async () => {
    const tr = trace();
    const answer = await post([
      { traceId: tr, spanId: '5a00000000000001', attributes: [str('audit.action', 'level.bad'), str('audit.level', 'verbose')] },
      { traceId: tr, spanId: '5a00000000000002', attributes: [str('audit.action', 'level.ok'), str('audit.level', 'minimal')] },
    ]);
    expect(answer).toMatchObject({ status: 200, rejected: 1 });
    expect(answer.message).toContain('audit.level "verbose" is not one of full, basic, minimal');
    expect((await rowsOf(tr)).map((r) => [r['action'], r['level']])).toEqual([['level.ok', 'minimal']]);
    const rejected = await rejectedOf(tr);
    expect(rejected).toHaveLength(1);
    expect(String(rejected[0]!['reason'])).toContain('audit.level');
  });

  it('a record the database refuses fails only its own export, which is answered with every record rejected and the reason', async () => {
    // A constraint the transform cannot know about stands for any refusal by the database.
    await t.sink.db.query("ALTER TABLE audit.records ADD CONSTRAINT test_no_poison CHECK (action <> 'db.poison')");
    try {
      const bad = trace();
      const good = trace();
      const [poisoned, neighbour] = await Promise.all([
        post([
          { traceId: bad, spanId: '5a00000000000001', attributes: [str('audit.action', 'db.poison')] },
          { traceId: bad, spanId: '5a00000000000002', attributes: [str('audit.action', 'db.fine')] },
        ]),
        post([
          { traceId: good, spanId: '5a00000000000001', attributes: [str('audit.action', 'db.fine')] },
          { traceId: good, spanId: '5a00000000000002', attributes: [str('audit.action', 'db.fine2')] },
        ]),
      ]);
      expect(neighbour).toEqual({ status: 200, rejected: 0, message: '' });
      expect(await rowsOf(good)).toHaveLength(2);
      expect(poisoned.status).toBe(200);
      expect(poisoned.rejected).toBe(2);
      expect(poisoned.message).toContain('test_no_poison');
      expect(await rowsOf(bad)).toHaveLength(0);
      const kept = await rejectedOf(bad);
      expect(kept).toHaveLength(2);
      for (const r of kept) expect(String(r['reason'])).toContain('test_no_poison');
    } finally {
      await t.sink.db.query('ALTER TABLE audit.records DROP CONSTRAINT test_no_poison');
    }
  });
});

describe('same key, different content', () => {
  const rec = (tr: string, outcome: string): { traceId: string; spanId: string; attributes: OtlpAttr[] } => ({
    traceId: tr,
    spanId: SPAN,
    attributes: [str('audit.action', 'doc.delete'), str('audit.resource.type', 'doc'), str('audit.resource.id', '7'), str('audit.outcome', outcome)],
  });

  it('keeps a second record with an existing key but other content as a conflict, counted; exact redelivery stays a duplicate', async () => {
    const tr = trace();
    const conflictsBefore = await t.metric('otel_audit_sink_conflicts_total');
    const duplicatesBefore = await t.metric('otel_audit_sink_records_duplicate_total');
    expect(await post([rec(tr, 'denied')])).toEqual({ status: 200, rejected: 0, message: '' });
    // Exact redelivery: harmless.
    expect(await post([rec(tr, 'denied')])).toEqual({ status: 200, rejected: 0, message: '' });
    expect(await t.metric('otel_audit_sink_records_duplicate_total')).toBe(duplicatesBefore + 1);
    // A forged "success" under the same key: kept as a conflict, and said so.
    const forged = await post([rec(tr, 'success')]);
    expect(forged.status).toBe(200);
    expect(forged.rejected).toBe(1);
    expect(forged.message).toContain('conflict');
    const rows = await rowsOf(tr);
    expect(rows.map((r) => r['outcome'])).toEqual(['denied']);
    const conflicts = (await t.rejected()).filter((r) => r['reason'] === 'conflict' && (r['record'] as { traceId?: string } | null)?.traceId === tr);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!['record']).toMatchObject({ traceId: tr, outcome: 'success', action: 'doc.delete' });
    expect(await t.metric('otel_audit_sink_conflicts_total')).toBe(conflictsBefore + 1);
  });

  it('detects the conflict within one export too, whichever comes first is stored', async () => {
    const tr = trace();
    const conflictsBefore = await t.metric('otel_audit_sink_conflicts_total');
    const answer = await post([rec(tr, 'denied'), rec(tr, 'success'), rec(tr, 'denied')]);
    expect(answer.rejected).toBe(1);
    expect((await rowsOf(tr)).map((r) => r['outcome'])).toEqual(['denied']);
    expect(await t.metric('otel_audit_sink_conflicts_total')).toBe(conflictsBefore + 1);
  });
});

describe('identity key', () => {
  it('does not confuse (folder, a/b) with (folder/a, b)', async () => {
    const tr = trace();
    const answer = await post([
      { traceId: tr, spanId: SPAN, attributes: [str('audit.action', 'dir.read'), str('audit.resource.type', 'folder'), str('audit.resource.id', 'a/b')] },
      { traceId: tr, spanId: SPAN, attributes: [str('audit.action', 'dir.read'), str('audit.resource.type', 'folder/a'), str('audit.resource.id', 'b')] },
    ]);
    expect(answer).toEqual({ status: 200, rejected: 0, message: '' });
    expect(await rowsOf(tr)).toHaveLength(2);
  });

  it('includes the server span id: two requests sharing a client-supplied trace id are two records', async () => {
    const tr = trace();
    const attrs = [str('audit.action', 'doc.read'), str('audit.resource.type', 'doc'), str('audit.resource.id', '1')];
    await post([{ traceId: tr, spanId: '5a00000000000001', attributes: attrs }]);
    await post([{ traceId: tr, spanId: '5a00000000000002', attributes: attrs }]);
    expect(await rowsOf(tr)).toHaveLength(2);
  });

  it('tells NULL from the empty string', async () => {
    const tr = trace();
    const insert = (type: string | null): Promise<{ rowCount: number }> =>
      t.sink.db.query(
        `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, resource_type, resource_id, outcome)
         VALUES ($1, $2, '2026-05-05T05:05:05Z', 'svc', 'user', 'x.y', $3, '1', 'success') ON CONFLICT DO NOTHING`,
        [tr, SPAN, type],
      );
    expect((await insert(null)).rowCount).toBe(1);
    expect((await insert('')).rowCount).toBe(1);
    expect((await insert('')).rowCount).toBe(0);
  });

  it('the migration keeps existing rows and gives them the new key', async () => {
    const test = await createTestDatabase();
    const db = await openDatabase({ url: test.url, env: {}, poolSize: 2 });
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-migrations-'));
    try {
      const shipped = assetPath('db', 'migrations');
      for (const name of ['000001.sql', '000002.sql', '000003.sql']) await copyFile(join(shipped, name), join(dir, name));
      await migrate(db, { dir });
      await seedRecords(db, 5);
      const before = await db.query<{ id: string; trace_id: string; span_id: string }>('SELECT id::text, trace_id, span_id FROM audit.records ORDER BY id');
      await migrate(db);
      const after = await db.query<{ id: string; trace_id: string; span_id: string; has_key: boolean }>(
        'SELECT id::text, trace_id, span_id, identity_key IS NOT NULL AS has_key FROM audit.records ORDER BY id',
      );
      expect(after.rows.map(({ id, trace_id, span_id }) => ({ id, trace_id, span_id }))).toEqual(before.rows);
      expect(after.rows.every((r) => r.has_key)).toBe(true);
      // A redelivered old record is still recognised.
      const again = await db.query(
        `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, resource_type, resource_id, outcome)
         SELECT trace_id, span_id, occurred_at, service_name, actor_type, action, resource_type, resource_id, outcome FROM audit.records
         ON CONFLICT DO NOTHING`,
      );
      expect(again.rowCount).toBe(0);
    } finally {
      await db.close();
      await test.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile values are stored sanitised and flagged, their raw input kept', () => {
  it('NUL, lone surrogates, oversize values and over-long actions land in audit.records, flagged in attributes["audit.sanitized"]', async () => {
    const tr = trace();
    const big = (c: string): string => c.repeat(70_000);
    const cases: { attrs: OtlpAttr[]; field: string; check(row: Record<string, unknown>): void }[] = [
      { field: 'url_path', attrs: [str('url.path', '/users/\u0000')], check: (r) => expect(r['url_path']).toBe('/users/\uFFFD') },
      { field: 'action', attrs: [str('audit.action', `users.${'x'.repeat(299)}`)], check: (r) => expect(String(r['action'])).toMatch(/^users\.x+….*cut/) },
      { field: 'request', attrs: [str('audit.request', '{"q":"a\\u0000b"}')], check: (r) => expect(r['request']).toEqual({ q: 'a\uFFFDb' }) },
      { field: 'request', attrs: [str('audit.request', '{"q":"\\ud800z"}')], check: (r) => expect(r['request']).toEqual({ q: '\uFFFDz' }) },
      { field: 'actor_id', attrs: [str('audit.actor.id', 'admin\u0000evil')], check: (r) => expect(r['actor_id']).toBe('admin\uFFFDevil') },
      { field: 'user_agent', attrs: [str('user_agent.original', big('u'))], check: (r) => expect(Buffer.byteLength(String(r['user_agent']))).toBeLessThanOrEqual(65_536) },
      { field: 'url_path', attrs: [str('url.path', `/${big('p')}`)], check: (r) => expect(String(r['url_path'])).toMatch(/^\/p+….*cut/) },
      {
        field: 'attributes',
        attrs: [str('audit.error.message', big('e'))],
        check: (r) => expect(String((r['attributes'] as Record<string, unknown>)['audit.error.message'])).toMatch(/^e+….*cut/),
      },
    ];
    const records = cases.map((c, i) => ({
      traceId: tr,
      spanId: `5b${String(i + 1).padStart(14, '0')}`,
      attributes: c.attrs.some((a) => a.key === 'audit.action') ? c.attrs : [str('audit.action', `hostile.${i}`), ...c.attrs],
    }));
    // A legitimate U+FFFD is data, not damage.
    records.push({ traceId: tr, spanId: '5bffffffffffffff', attributes: [str('audit.action', 'hostile.fffd'), str('url.path', '/users/\uFFFD')] });
    const answer = await post(records);
    expect(answer).toEqual({ status: 200, rejected: 0, message: '' });
    const rows = await rowsOf(tr);
    expect(rows).toHaveLength(cases.length + 1);
    const bySpan = new Map(rows.map((r) => [r['span_id'] as string, r]));
    cases.forEach((c, i) => {
      const row = bySpan.get(`5b${String(i + 1).padStart(14, '0')}`)!;
      c.check(row);
      expect((row['attributes'] as Record<string, unknown>)['audit.sanitized']).toEqual([c.field]);
    });
    const plain = bySpan.get('5bffffffffffffff')!;
    expect(plain['url_path']).toBe('/users/\uFFFD');
    expect((plain['attributes'] as Record<string, unknown>)['audit.sanitized']).toBeUndefined();
    // The raw input of each sanitised record is kept for forensics.
    const kept = (await rejectedOf(tr)).filter((r) => String(r['reason']).startsWith('sanitized: '));
    expect(kept).toHaveLength(cases.length);
    const raws = kept.map((r) => (r['raw'] as Buffer).toString('utf8'));
    expect(raws.some((s) => s.includes('admin\\u0000evil'))).toBe(true);
    expect(raws.some((s) => s.includes('u'.repeat(70_000)))).toBe(true);
  });

  it('a client cannot forge or hide the flag: its own audit.sanitized attribute is kept under another name', async () => {
    const tr = trace();
    await post([{ traceId: tr, spanId: SPAN, attributes: [str('audit.action', 'a.b'), str('audit.sanitized', 'nothing'), str('audit.actor.id', 'x\u0000')] }]);
    const [row] = await rowsOf(tr);
    const attrs = row!['attributes'] as Record<string, unknown>;
    expect(attrs['audit.sanitized']).toEqual(['actor_id']);
    expect(attrs['attribute.audit.sanitized']).toBe('nothing');
  });

  it('a body that is not valid UTF-8 in a protobuf string is refused whole, and kept', async () => {
    const tr = trace();
    const body = logsRequest([{ traceId: tr, spanId: SPAN, attributes: [str('audit.action', 'a.b'), str('audit.actor.id', 'ZZZZ')] }]);
    const at = body.indexOf('ZZZZ');
    body[at] = 0xff;
    body[at + 1] = 0xfe;
    const answer = await postLogs(t.httpEndpoint, body);
    expect(answer.status).toBe(400);
    expect(answer.message).toContain('UTF-8');
    expect(await rowsOf(tr)).toHaveLength(0);
    const kept = (await t.rejected()).filter((r) => Buffer.compare(r['raw'] as Buffer, body) === 0);
    expect(kept).toHaveLength(1);
  });
});

describe('on the embedded database', () => {
  it('conflicts, redelivery and sanitised records behave the same', async () => {
    const e = await startTestSink('pglite', { env: {} });
    try {
      const tr = trace();
      const attrs = (outcome: string): OtlpAttr[] => [str('audit.action', 'doc.delete'), str('audit.outcome', outcome), str('audit.actor.id', 'a\u0000')];
      const send = (outcome: string) => postLogs(e.httpEndpoint, logsRequest([{ traceId: tr, spanId: SPAN, attributes: attrs(outcome) }]));
      expect(await send('denied')).toEqual({ status: 200, rejected: 0, message: '' });
      expect(await send('denied')).toEqual({ status: 200, rejected: 0, message: '' });
      expect(await send('success')).toMatchObject({ status: 200, rejected: 1 });
      const rows = await e.rows();
      expect(rows.map((r) => [r['outcome'], r['actor_id'], (r['attributes'] as Record<string, unknown>)['audit.sanitized']])).toEqual([['denied', 'a\uFFFD', ['actor_id']]]);
      const reasons = (await e.rejected()).map((r) => String(r['reason']));
      expect(reasons.filter((r) => r === 'conflict')).toHaveLength(1);
      expect(reasons.filter((r) => r.startsWith('sanitized: '))).toHaveLength(3);
      expect(await e.metric('otel_audit_sink_conflicts_total')).toBe(1);
    } finally {
      await e.stop();
    }
  });
});
