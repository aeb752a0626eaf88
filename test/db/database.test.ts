import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { type Database, DatabaseUnavailableError, isConnectionError, openDatabase, UNAVAILABLE } from '../../src/db/database.js';
import { createTestDatabase, openConnections, openTestBackend, PG_ADMIN_URL, type TestBackend } from '../helpers/pg.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';



describe.each(['postgres', 'pglite'] as const)('database on %s', (backend) => {
  let fx: TestBackend;
  let db: Database;
  beforeAll(async () => {
    fx = await openTestBackend(backend);
    db = fx.db;
  });
  afterAll(async () => {
    await fx?.teardown();
  });

  it('opens the selected kind and describes it without a password', () => {
    expect(db.kind).toBe(backend);
    expect(db.description).toMatch(backend === 'postgres' ? /^postgres:\/\/postgres@127\.0\.0\.1:5432\/otel_audit_t_/ : /^embedded PGlite in \/.*pgdata$/);
  });

  it('returns int8 and numeric as strings, timestamptz as Date, date as text, bytea as Buffer', async () => {
    const { rows, rowCount } = await db.query(
      `SELECT 9007199254740993::int8 AS big, 5::int8 AS small, 7::int4 AS int, 1.5::float8 AS float,
              12.50::numeric AS num, '{1.5,2}'::numeric[] AS nums, '{1,9007199254740993}'::int8[] AS bigs,
              '2026-03-04 05:06:07.123456+00'::timestamptz AS ts, '2026-03-04'::date AS day,
              '2026-03-04 05:06:07'::timestamp AS wall, '{"a":[1,"x"]}'::jsonb AS doc,
              '\\x01ff'::bytea AS bin, '10.0.0.1'::inet AS ip, true AS flag, NULL::text AS nothing,
              '1 day 02:00'::interval AS span, '(1,2)'::point AS pt, '{[1,3)}'::int8multirange AS seen`,
    );
    expect(rowCount).toBe(1);
    expect(rows[0]).toEqual({
      big: '9007199254740993',
      small: '5',
      int: 7,
      float: 1.5,
      num: '12.50',
      nums: ['1.5', '2'],
      bigs: ['1', '9007199254740993'],
      ts: new Date('2026-03-04T05:06:07.123Z'),
      day: '2026-03-04',
      wall: '2026-03-04 05:06:07',
      doc: { a: [1, 'x'] },
      bin: Buffer.from([1, 255]),
      ip: '10.0.0.1',
      flag: true,
      nothing: null,
      span: '1 day 02:00:00',
      pt: '(1,2)',
      seen: '{[1,3)}',
    });
    expect(Buffer.isBuffer(rows[0]?.bin)).toBe(true);
  });

  it('runs sessions in UTC', async () => {
    const { rows } = await db.query<{ tz: string; day: string }>(
      "SELECT current_setting('TimeZone') AS tz, ('2026-03-31 23:30:00+00'::timestamptz)::date::text AS day",
    );
    expect(rows[0]?.tz).toMatch(/^(UTC|Etc\/UTC)$/);
    expect(rows[0]?.day).toBe('2026-03-31');
  });

  it('takes scalar parameters of every common JS type', async () => {
    const { rows } = await db.query(
      'SELECT $1::text AS t, $2::int4 AS i, $3::int8 AS b, $4::int8 AS s, $5::bool AS f, $6::float8 AS d, $7::timestamptz AS ts, $8::bytea AS bin, $9::jsonb AS obj, $10::jsonb AS arr, $11::text AS n',
      ['x', 3, 9007199254740993n, '42', true, 2.5, new Date('2020-01-01T00:00:00.123Z'), Buffer.from([0, 1]), { a: 1 }, JSON.stringify([1, 2]), null],
    );
    expect(rows[0]).toEqual({
      t: 'x',
      i: 3,
      b: '9007199254740993',
      s: '42',
      f: true,
      d: 2.5,
      ts: new Date('2020-01-01T00:00:00.123Z'),
      bin: Buffer.from([0, 1]),
      obj: { a: 1 },
      arr: [1, 2],
      n: null,
    });
  });

  it('inserts a batch through unnest() of text[], timestamptz[], jsonb[] and int8[] parameters', async () => {
    await db.exec('CREATE TABLE batch_example (name text, at timestamptz, doc jsonb, seq int8)');
    const names = ['plain', 'comma,quote"back\\slash{}', null, 'NULL', '', 'ünïcødé ☃'];
    const ats = ['2026-01-02T03:04:05.123456Z', new Date('2027-01-01T00:00:00Z'), null, '1990-06-01T00:00:00Z', '2026-01-01T00:00:00+02:00', '2026-01-01T00:00:00Z'];
    // jsonb goes in as JSON text: the same on both drivers.
    const docs = [{ a: 1 }, ['x', 'y,z'], null, 'a "string"', { nested: { q: 'it\'s' } }, 42].map((d) => (d === null ? null : JSON.stringify(d)));
    const seqs = ['1', 9007199254740993n, null, 3, '-5', '0'];
    const result = await db.query(
      `INSERT INTO batch_example (name, at, doc, seq)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::int8[])`,
      [names, ats, docs, seqs],
    );
    expect(result.rowCount).toBe(6);
    const { rows } = await db.query('SELECT name, at, doc, seq FROM batch_example ORDER BY ctid');
    expect(rows).toEqual([
      { name: 'plain', at: new Date('2026-01-02T03:04:05.123Z'), doc: { a: 1 }, seq: '1' },
      { name: 'comma,quote"back\\slash{}', at: new Date('2027-01-01T00:00:00Z'), doc: ['x', 'y,z'], seq: '9007199254740993' },
      { name: null, at: null, doc: null, seq: null },
      { name: 'NULL', at: new Date('1990-06-01T00:00:00Z'), doc: 'a "string"', seq: '3' },
      { name: '', at: new Date('2025-12-31T22:00:00Z'), doc: { nested: { q: "it's" } }, seq: '-5' },
      { name: 'ünïcødé ☃', at: new Date('2026-01-01T00:00:00Z'), doc: 42, seq: '0' },
    ]);
    const micro = await db.query<{ us: string }>("SELECT to_char(at, 'US') AS us FROM batch_example WHERE name = 'plain'");
    expect(micro.rows[0]?.us).toBe('123456'); // the database keeps the microseconds
    const empty = await db.query('INSERT INTO batch_example SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::int8[])', [[], [], [], []]);
    expect(empty.rowCount).toBe(0);
  });

  it('does int8multirange arithmetic', async () => {
    const { rows } = await db.query<{ m: string; has: boolean; gaps: string }>(
      `SELECT '{[1,3)}'::int8multirange + int8multirange(int8range(3, 5)) AS m,
              $1::int8multirange @> $2::int8 AS has,
              int8multirange(int8range(1, $3::int8)) - $1::int8multirange AS gaps`,
      ['{[1,5), [7,9)}', '8', '10'],
    );
    expect(rows[0]).toEqual({ m: '{[1,5)}', has: true, gaps: '{[5,7),[9,10)}' });
  });

  it('commits a transaction and rolls back on throw', async () => {
    await db.exec('CREATE TABLE tx_example (n int PRIMARY KEY); INSERT INTO tx_example VALUES (0)');
    const value = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_example VALUES ($1)', [1]);
      await tx.exec('INSERT INTO tx_example VALUES (2); INSERT INTO tx_example VALUES (3)');
      return 'done';
    });
    expect(value).toBe('done');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_example VALUES (4)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query<{ n: number }>('SELECT n FROM tx_example ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 3]);
  });

  it('refuses to commit a transaction whose statement failed (25P02)', async () => {
    const err = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO tx_example VALUES (10)');
        await tx.query('INSERT INTO tx_example VALUES (0)').catch(() => undefined); // duplicate key, swallowed
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('25P02');
    const { rowCount } = await db.query('SELECT 1 FROM tx_example WHERE n = 10');
    expect(rowCount).toBe(0);
  });

  it('keeps SQLSTATE codes on errors; statement errors are not connection errors', async () => {
    const syntax = await db.query('SELEC 1').catch((e: unknown) => e);
    expect((syntax as { code?: string }).code).toBe('42601');
    expect(isConnectionError(syntax)).toBe(false);
    const unique = await db.query('INSERT INTO tx_example VALUES (0)').catch((e: unknown) => e);
    expect((unique as { code?: string }).code).toBe('23505');
    expect(isConnectionError(unique)).toBe(false);
    // The database stays usable.
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('reports rowCount for ON CONFLICT DO NOTHING', async () => {
    expect((await db.query('INSERT INTO tx_example VALUES (20) ON CONFLICT DO NOTHING')).rowCount).toBe(1);
    expect((await db.query('INSERT INTO tx_example VALUES (20) ON CONFLICT DO NOTHING')).rowCount).toBe(0);
    expect((await db.query('CREATE TABLE ddl_example (x int)')).rowCount).toBe(0);
  });

  it('keeps concurrent transactions from interleaving', async () => {
    await db.exec('CREATE TABLE order_example (id int GENERATED ALWAYS AS IDENTITY, tx int, step text)');
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        db.transaction(async (tx) => {
          if (backend === 'postgres') await tx.query('LOCK TABLE order_example IN EXCLUSIVE MODE');
          await tx.query('INSERT INTO order_example (tx, step) VALUES ($1, $2)', [i, 'begin']);
          await new Promise((r) => setTimeout(r, 10));
          await tx.query('INSERT INTO order_example (tx, step) VALUES ($1, $2)', [i, 'end']);
        }),
      ),
    );
    const { rows } = await db.query<{ tx: number; step: string }>('SELECT tx, step FROM order_example ORDER BY id');
    expect(rows).toHaveLength(10);
    for (let i = 0; i < rows.length; i += 2) {
      expect(rows[i]?.step).toBe('begin');
      expect(rows[i + 1]).toEqual({ tx: rows[i]?.tx, step: 'end' });
    }
  });

  it('refuses to use a transaction after it ended', async () => {
    let leaked: { query: (sql: string) => Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query('SELECT 1')).rejects.toThrow(/ended|closed/);
  });
});

describe('database selection', () => {
  it('uses DATABASE_URL, then PG* variables, and hides passwords', async () => {
    const fromUrl = await openDatabase({ env: { DATABASE_URL: PG_ADMIN_URL.replace('postgres@', 'postgres:s3cret@') } });
    try {
      expect(fromUrl.kind).toBe('postgres');
      expect(fromUrl.description).toBe('postgres://postgres@127.0.0.1:5432/postgres');
      expect((await fromUrl.query('SELECT current_database() AS db')).rows).toEqual([{ db: 'postgres' }]);
    } finally {
      await fromUrl.close();
    }
    const fromPg = await openDatabase({ env: { PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: 'test', PGPASSWORD: 's3cret' } });
    try {
      expect(fromPg.kind).toBe('postgres');
      expect(fromPg.description).not.toContain('s3cret');
      expect(fromPg.description).toContain('postgres@127.0.0.1:5432/test');
      expect((await fromPg.query('SELECT current_database() AS db, current_user AS u')).rows).toEqual([{ db: 'test', u: 'postgres' }]);
    } finally {
      await fromPg.close();
    }
    // An explicit url wins over the environment.
    const explicit = await openDatabase({ url: 'postgres://a:b@example.invalid/x', env: { PGHOST: '127.0.0.1' } });
    expect(explicit.description).toBe('postgres://a@example.invalid/x');
    await explicit.close();
  });

  it('reads PGSERVICE from the service file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-svc-'));
    try {
      const file = join(dir, 'pg_service.conf');
      await writeFile(file, '# test\n[other]\nhost=example.invalid\n\n[audit]\nhost=127.0.0.1\nport=5432\nuser=postgres\ndbname=test\n');
      const db = await openDatabase({ env: { PGSERVICE: 'audit', PGSERVICEFILE: file } });
      try {
        expect((await db.query('SELECT current_database() AS db')).rows).toEqual([{ db: 'test' }]);
      } finally {
        await db.close();
      }
      await expect(openDatabase({ env: { PGSERVICE: 'missing', PGSERVICEFILE: file, HOME: dir } })).rejects.toThrow(/no such service/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('isConnectionError', () => {
  it('is true for the error pg raises on a closed port', async () => {
    const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/postgres', env: {} });
    try {
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isConnectionError(err)).toBe(true);
      const txErr = await db.transaction(async () => 1).catch((e: unknown) => e);
      expect(isConnectionError(txErr)).toBe(true);
    } finally {
      await db.close();
    }
    // A closed database cannot serve either.
    expect(isConnectionError(await db.query('SELECT 1').catch((e: unknown) => e))).toBe(true);
  });

  it('classifies codes, and not the text of a message', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08006', '08001', '08P01', '53300']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code })), code).toBe(true);
    }
    expect(isConnectionError(new Error('wrapped', { cause: Object.assign(new Error(''), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isConnectionError(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], ''))).toBe(true);
    for (const code of ['42601', '23505', '22P02', '25P02', '40001', '53100']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code })), code).toBe(false);
    }
    // A message alone decides nothing: only the database wrapper knows the connection's state.
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isConnectionError(new Error('relation "x" does not exist'))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });

  it('is true for a DatabaseUnavailableError, which names its reason and its cause', () => {
    const err = new DatabaseUnavailableError(UNAVAILABLE.connectFailed, { cause: new Error('timeout exceeded when trying to connect') });
    expect(isConnectionError(err)).toBe(true);
    expect(err.code).toBe(UNAVAILABLE.connectFailed);
    expect(err.message).toBe('cannot connect to the database: timeout exceeded when trying to connect');
    expect(isConnectionError(new Error('outer', { cause: new DatabaseUnavailableError(UNAVAILABLE.closed) }))).toBe(true);
  });

  it('is true when a connect times out (a server that accepts and never answers)', async () => {
    const sockets: Socket[] = [];
    const silent = await listen((socket) => sockets.push(socket));
    const db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${silent.port}/postgres`, env: {} });
    try {
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect((err as DatabaseUnavailableError).code).toBe(UNAVAILABLE.connectFailed);
      expect(isConnectionError(err)).toBe(true);
    } finally {
      await db.close();
      for (const socket of sockets) socket.destroy();
      await silent.close();
    }
  });

  it('is true when the server hangs up while connecting', async () => {
    const rude = await listen((socket) => socket.destroy());
    const db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${rude.port}/postgres`, env: {} });
    try {
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      expect(isConnectionError(err)).toBe(true);
      expect((err as { code?: string }).code).toBe(UNAVAILABLE.connectFailed);
    } finally {
      await db.close();
      await rude.close();
    }
  });

  it('is true for a statement on a pool that was ended', async () => {
    const db = await openDatabase({ url: PG_ADMIN_URL, env: {} });
    await db.query('SELECT 1');
    await db.close();
    await expectClosed(db);
  });

  it('is true for a statement on a closed PGlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-closed-'));
    try {
      const db = await openDatabase({ dataDir: dir, env: {} });
      await db.query('SELECT 1');
      await db.close();
      await expectClosed(db);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is true when the connection is cut under a running query, and not for a statement error', async () => {
    const test = await createTestDatabase();
    const proxy = await startTcpProxy(5432);
    const db = await openDatabase({ url: test.url.replace(':5432/', `:${proxy.port}/`), env: {}, onError: () => undefined });
    try {
      const statement = await db.query('SELEC 1').catch((e: unknown) => e);
      expect(isConnectionError(statement)).toBe(false);
      const running = db.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      proxy.cut();
      const err = await running;
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect((err as DatabaseUnavailableError).code).toBe(UNAVAILABLE.connectionLost);
      proxy.restore();
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await proxy.close();
      await test.drop();
    }
  });

  it('is true when another session ends the connection with pg_terminate_backend', async () => {
    const test = await createTestDatabase();
    const db = await openDatabase({ url: test.url, env: {}, onError: () => undefined });
    const admin = await openDatabase({ url: PG_ADMIN_URL, env: {} });
    try {
      const running = db.query("SELECT pg_sleep(30), 'sleeper' AS tag").catch((e: unknown) => e);
      for (let i = 0; i < 100; i++) {
        const { rowCount } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%sleeper%'", [test.name]);
        if (rowCount > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [test.name]);
      expect(isConnectionError(await running)).toBe(true);
    } finally {
      await db.close();
      await admin.close();
      await test.drop();
    }
  });
});

/** Every kind of statement on a closed database fails as a connection error saying it is closed. */
async function expectClosed(db: Database): Promise<void> {
  for (const attempt of [db.query('SELECT 1'), db.exec('SELECT 1'), db.transaction(async () => 1)]) {
    const err = await attempt.catch((e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
    expect((err as { code?: string }).code).toBe(UNAVAILABLE.closed);
  }
}

/** A TCP server on port 0 that hands each connection to onSocket. */
async function listen(onSocket: (socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('postgres pool', () => {
  it('survives an idle connection killed by the server and reports it through onError', async () => {
    const test = await createTestDatabase();
    const errors: Error[] = [];
    const db = await openDatabase({ url: test.url, env: {}, onError: (err) => errors.push(err) });
    try {
      await db.query('SELECT 1');
      const admin = await openDatabase({ url: PG_ADMIN_URL, env: {} });
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [test.name]);
      } finally {
        await admin.close();
      }
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((e) => isConnectionError(e))).toBe(true);
      expect((await db.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);

      // A connection that dies inside a transaction fails that transaction only.
      const err = await db
        .transaction(async (tx) => {
          await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
        })
        .catch((e: unknown) => e);
      expect(isConnectionError(err)).toBe(true);
      expect((await db.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    } finally {
      await db.close();
      const left = await openConnections(test.name);
      await test.drop();
      expect(left).toBe(0);
    }
  });
});

describe('embedded database directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otel-audit-lock-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults to OTEL_AUDIT_DATA_DIR, is held by one opener at a time, and keeps data across reopening', async () => {
    const first = await openDatabase({ env: { OTEL_AUDIT_DATA_DIR: join(dir, 'nested', 'data') } });
    try {
      expect(first.kind).toBe('pglite');
      expect(first.description).toBe(`embedded PGlite in ${join(dir, 'nested', 'data', 'pgdata')}`);
      await first.exec("CREATE TABLE kept (x text); INSERT INTO kept VALUES ('still here')");
      await expect(openDatabase({ dataDir: join(dir, 'nested', 'data'), env: {} })).rejects.toThrow(/in use by process \d+ \(this process\)/);
    } finally {
      await first.close();
    }
    const again = await openDatabase({ dataDir: join(dir, 'nested', 'data'), env: {} });
    try {
      expect((await again.query('SELECT x FROM kept')).rows).toEqual([{ x: 'still here' }]);
    } finally {
      await again.close();
    }
  });
});
