/** `otel-audit erase` on the command line: the key is required, a subject without a key is a clear no-op. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseCommand } from '../../src/cli/erase.js';
import { exportCommand } from '../../src/cli/export.js';
import { serveCommand } from '../../src/cli/serve.js';
import { localKeyProvider } from '../../src/crypto/kek.js';
import { liveKeys } from '../../src/crypto/subject-keys.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase } from '../helpers/pg.js';
import { runCommand } from '../helpers/cli-run.js';

let test: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
let keyFile: string;

beforeAll(async () => {
  test = await createTestDatabase();
  const db = await openDatabase({ url: test.url, env: {} });
  await migrate(db);
  await db.close();
  dir = mkdtempSync(join(tmpdir(), 'otel-audit-erase-cli-'));
  keyFile = join(dir, 'kek');
  writeFileSync(keyFile, randomBytes(32).toString('base64'));
});
afterAll(async () => {
  await test?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const run = (argv: string[], command: (argv: readonly string[]) => Promise<number> = eraseCommand) => runCommand(command, argv);

describe('otel-audit erase', () => {
  it('needs the key-encryption key and a subject', async () => {
    const noKey = await run(['--subject', 'u-1', '--database-url', test.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('--encryption-key-file');
    const noSubject = await run(['--encryption-key-file', keyFile, '--database-url', test.url]);
    expect(noSubject.code).toBe(2);
    expect(noSubject.err).toContain('--subject ID is required');
  });

  it('a subject without a data key is a clear no-op, and nothing is recorded', async () => {
    const r = await run(['--subject', 'u-9', '--encryption-key-file', keyFile, '--database-url', test.url]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe('nothing to erase: no data key for actor or tenant "u-9" (never seen encrypted, or erased already)\n');
    const db = await openDatabase({ url: test.url, env: {} });
    try {
      const { rows } = await db.query("SELECT 1 FROM audit.records WHERE action = 'audit.erase'");
      expect(rows).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('otel-audit export --encryption-key-file', () => {
  it('decrypts into every format; a bad key file is a usage error', async () => {
    const base = ['--from', '2026-01-01', '--to', '2026-02-01', '--database-url', test.url];
    for (const out of ['x.csv', 'x.ocsf.jsonl']) {
      const r = await run([...base, '--out', join(dir, out), '--encryption-key-file', keyFile], exportCommand);
      expect(r).toMatchObject({ code: 0, err: '' });
    }
    writeFileSync(join(dir, 'bad'), 'short');
    const bad = await run([...base, '--out', join(dir, 'x.jsonl'), '--encryption-key-file', join(dir, 'bad')], exportCommand);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('must be 32 bytes');
  });
});

describe('otel-audit serve --encryption-key-file', () => {
  it('refuses a malformed key, and a key that does not unwrap the stored data keys', async () => {
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ name: 'dpo', token: 'a-long-enough-token-1', role: 'audit_auditor', decrypt: true }]));
    const base = ['--tokens', tokens, '--database-url', test.url, '--port', '0'];
    writeFileSync(join(dir, 'short'), 'short');
    const bad = await run([...base, '--encryption-key-file', join(dir, 'short')], serveCommand);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('must be 32 bytes');
    // A data key wrapped by another KEK than the one given.
    const db = await openDatabase({ url: test.url, env: {} });
    try {
      await liveKeys(db, localKeyProvider(randomBytes(32)), ['someone']);
    } finally {
      await db.close();
    }
    const wrong = await run([...base, '--encryption-key-file', keyFile], serveCommand);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/cannot start: data key [0-9a-f]+ is wrapped by the key-encryption key [0-9a-f]{16}, not by the one given/);
  });
});
