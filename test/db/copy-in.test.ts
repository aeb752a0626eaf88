import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createTestDatabase } from '../helpers/pg.js';

let drop: () => Promise<void>;
let db: Database;
beforeAll(async () => {
  const t = await createTestDatabase();
  drop = t.drop;
  // One connection: every transaction below reuses the one before it.
  db = await openDatabase({ url: t.url, poolSize: 1 });
  await db.exec('CREATE TABLE t (n int4 NOT NULL, s text)');
});
afterAll(async () => {
  await db?.close();
  await drop?.();
});

describe('COPY … FROM STDIN in a transaction', () => {
  it('copies the buffer and answers the rows copied', async () => {
    const n = await db.transaction(async (tx) => tx.copyIn?.('COPY t (n, s) FROM STDIN', Buffer.from('1\tone\n2\t\\N\n')));
    expect(n).toBe(2);
    expect((await db.query('SELECT n, s FROM t ORDER BY n')).rows).toEqual([{ n: 1, s: 'one' }, { n: 2, s: null }]);
  });

  it('rejects with the server\'s error and code, rolls back, and leaves the connection usable', async () => {
    const bad = db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (3, $1)', ['kept only on commit']);
      return tx.copyIn?.('COPY t (n, s) FROM STDIN', Buffer.from('4\tfour\nnot a number\tx\n'));
    });
    await expect(bad).rejects.toMatchObject({ code: '22P02' });
    expect((await db.query<{ n: number }>('SELECT n FROM t ORDER BY n')).rows.map((r) => r.n)).toEqual([1, 2]);
    // Again on the same (only) connection.
    expect(await db.transaction(async (tx) => tx.copyIn?.('COPY t (n, s) FROM STDIN', Buffer.from('5\tfive\n')))).toBe(1);
  });

  it('an error of the statement itself rejects too', async () => {
    await expect(db.transaction(async (tx) => tx.copyIn?.('COPY missing FROM STDIN', Buffer.from('')))).rejects.toMatchObject({ code: '42P01' });
    expect((await db.query('SELECT count(*)::int AS c FROM t')).rows).toEqual([{ c: 3 }]);
  });
});
