/**
 * Operating encrypted personal data: data keys per tenant and erasing a
 * tenant, the rotation of the key-encryption key as an operation record, and
 * what a sink does at start with a database that holds encrypted data and a
 * wrong key, or none.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseCommand } from '../../src/cli/erase.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { loadKeyProvider, type KeyProvider } from '../../src/crypto/kek.js';
import type { Database } from '../../src/db/database.js';
import { startSink } from '../../src/sink/sink.js';
import type { SinkOptions } from '../../src/sink/types.js';
import { runCommand } from '../helpers/cli-run.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { createTestDatabase } from '../helpers/pg.js';
import { ALICE, BOB, exportPersonal, newKeyFile, personalFields, personalRecord, type Person } from '../helpers/personal-records.js';
import { REPO } from '../helpers/processes.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

const ALL_COLUMNS = Object.keys(ENCRYPTABLE).join(',');
const ERASED = Object.fromEntries(Object.keys(ENCRYPTABLE).map((c) => [c, '[erased]']));

const ACME_ALICE: Person = { ...ALICE, tenant: 'acme' };
const ACME_BOB: Person = { ...BOB, tenant: 'acme' };
const GLOBEX_CAROL: Person = { id: 'u-3', name: 'carol', ip: '198.51.100.9', agent: 'carol-agent/1.0', tenant: 'globex' };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'otel-audit-encryption-ops-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The kid a stored text ciphertext names. */
const kidOf = (stored: unknown): string => String(stored).split(':')[2] ?? '';

async function verifiesAfterSealing(db: Database): Promise<void> {
  await sealOnce(db, { settleMs: 0 });
  const report = await verify(db);
  expect(report.findings).toEqual([]);
  expect(report.ok).toBe(true);
}

describe('data keys per tenant (--encryption-subject tenant), then a new key-encryption key', () => {
  let t: TestSink;
  let keyFile: string;
  let kek: KeyProvider;
  const erase = (argv: string[]) => runCommand(eraseCommand, [...argv, '--database-url', t.url as string]);

  beforeAll(async () => {
    keyFile = newKeyFile(dir, 'tenant-kek');
    kek = loadKeyProvider({ file: keyFile }) as KeyProvider;
    t = await startTestSink('postgres', { encryptionKeyFile: keyFile, encryptColumns: ALL_COLUMNS, encryptionSubject: 'tenant', sealIntervalMs: 0 });
    const answer = await postLogs(t.httpEndpoint, logsRequest([personalRecord(ACME_ALICE, 1), personalRecord(ACME_BOB, 2), personalRecord(GLOBEX_CAROL, 3)]));
    expect(answer).toEqual({ status: 200, rejected: 0, message: '' });
  });
  afterAll(() => t?.stop());

  it("shares one data key between a tenant's actors, and erase --subject <tenant> erases both while another tenant stays readable", async () => {
    const stored = await t.rows("service_name = 'write-path'");
    expect(stored.map((r) => r['tenant_id'])).toEqual(['acme', 'acme', 'globex']);
    const [alice, bob, carol] = stored.map((r) => kidOf(r['actor_name']));
    expect(alice).toMatch(/^[0-9a-f]{16}$/);
    expect(bob).toBe(alice);
    expect(carol).not.toBe(alice);
    const { rows: keys } = await t.sink.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit.subject_keys');
    expect(keys[0]?.n).toBe('2');

    // The tenant id alone: erase finds that it is a tenant.
    const r = await erase(['--subject', 'acme', '--encryption-key-file', keyFile, '--as', 'dpo']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^erased tenant [0-9a-f]{16}…: 1 data key\(s\) destroyed; recorded as audit\.erase record \d+\n$/);

    const after = await exportPersonal(t.sink.db, dir, 'tenant.jsonl', { kek });
    expect(after.map((x) => x['resource_id'])).toEqual(['1', '2', '3']);
    expect(after[0]).toMatchObject({ ...ERASED, tenant_id: 'acme', action: 'user.update' });
    expect(after[1]).toMatchObject({ ...ERASED, tenant_id: 'acme', action: 'user.update' });
    expect(after[2]).toMatchObject({ ...personalFields(GLOBEX_CAROL, 3), tenant_id: 'globex' });
    const op = await t.rows("action = 'audit.erase'");
    expect(op).toHaveLength(1);
    expect(op[0]).toMatchObject({ resource_type: 'subject', actor_id: 'dpo', attributes: expect.objectContaining({ subject_mode: 'tenant' }) });
    expect(JSON.stringify(op[0])).not.toContain('acme');
    await verifiesAfterSealing(t.sink.db);
  });

  it('records the rotation as an audit.erase operation on the key-encryption key, without key material; records read with the new key only', async () => {
    const nextFile = newKeyFile(dir, 'tenant-kek-next');
    const next = loadKeyProvider({ file: nextFile }) as KeyProvider;
    const before = await t.rows("service_name = 'write-path'");
    const r = await erase(['--rewrap-to', nextFile, '--encryption-key-file', keyFile, '--as', 'ops']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^re-wrapped 2 key\\(s\\) with the key-encryption key ${next.id}; 0 were under it already; no record was rewritten; recorded as audit\\.erase record \\d+\\n$`));

    const ops = await t.rows(`action = 'audit.erase' AND resource_type = 'key-encryption-key'`);
    expect(ops).toHaveLength(1);
    const op = ops[0] as Record<string, unknown>;
    expect(op).toMatchObject({ actor_id: 'ops', resource_id: next.id, outcome: 'success', service_name: 'otel-audit' });
    expect(op['attributes']).toMatchObject({
      operation: 'rewrap',
      kek_id: next.id,
      previous_kek_id: kek.id,
      rewrapped_keys: 2,
      data_keys: 1,
      index_keys: 1,
      already_current: 0,
      'db.user': 'postgres',
    });
    expect(new Date(String(op['occurred_at'])).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // Neither KEK nor any wrapped key, in any encoding the files or the table hold.
    const text = JSON.stringify(op);
    const { rows: wrapped } = await t.sink.db.query<{ w: Buffer }>(
      'SELECT wrapped_key AS w FROM audit.subject_keys WHERE wrapped_key IS NOT NULL UNION ALL SELECT wrapped_key FROM audit.index_keys',
    );
    const secrets: Buffer[] = [...[keyFile, nextFile].map((f) => Buffer.from(readFileSync(f, 'utf8').trim(), 'hex')), ...wrapped.map((w) => w.w)];
    for (const s of secrets) for (const enc of ['hex', 'base64', 'base64url'] as const) expect(text).not.toContain(s.toString(enc).slice(0, 16));

    expect(await t.rows("service_name = 'write-path'")).toEqual(before);
    const rotated = await exportPersonal(t.sink.db, dir, 'rotated.jsonl', { kek: next });
    expect(rotated[2]).toMatchObject(personalFields(GLOBEX_CAROL, 3));
    expect(rotated[0]).toMatchObject(ERASED);
    await expect(exportPersonal(t.sink.db, dir, 'old.jsonl', { kek })).rejects.toThrow(/wrapped by the key-encryption key [0-9a-f]{16}, not by the one given/);
    await verifiesAfterSealing(t.sink.db);

    // Run again: nothing to re-wrap, nothing recorded.
    const again = await erase(['--rewrap-to', nextFile, '--encryption-key-file', keyFile]);
    expect(again).toMatchObject({ code: 0, err: '' });
    expect(again.out).toContain('re-wrapped 0 key(s)');
    expect(await t.rows(`action = 'audit.erase' AND resource_type = 'key-encryption-key'`)).toHaveLength(1);
  });
});

/** A sink on `url` with a logger whose lines are kept. */
function startLogged(url: string, options: SinkOptions): { lines: string[]; started: Promise<{ close(): Promise<void> }> } {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const started = startSink({ databaseUrl: url, grpcPort: 0, httpPort: 0, metricsPort: 0, sealIntervalMs: 0, ...options }, log);
  return { lines, started };
}

/** `otel-audit sink` as a process; resolves once it exits or logs that it listens (then it is stopped). */
function runSinkProcess(url: string, args: string[]): Promise<{ code: number | null; stderr: string; listening: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', 'sink', '--database-url', url, '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0', ...args], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let listening = false;
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('otel-audit sink listening')) {
        listening = true;
        child.kill('SIGTERM');
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr, listening }));
  });
}

describe('a sink started without the key on a database that holds encrypted personal data', () => {
  let encrypted: Awaited<ReturnType<typeof createTestDatabase>>;
  let fresh: Awaited<ReturnType<typeof createTestDatabase>>;
  let keyFile: string;

  beforeAll(async () => {
    [encrypted, fresh] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    keyFile = newKeyFile(dir, 'start-kek');
    const first = await startSink({ databaseUrl: encrypted.url, grpcPort: 0, httpPort: 0, metricsPort: 0, encryptionKeyFile: keyFile }, pino({ level: 'silent' }));
    await postLogs(`http://127.0.0.1:${first.httpPort}`, logsRequest([personalRecord(ALICE, 1)]));
    await first.close();
  });
  afterAll(async () => {
    await encrypted?.drop();
    await fresh?.drop();
  });

  it('refuses to start, naming --encryption-key-file and --no-encryption; --no-encryption starts with a warning; a fresh database starts without a word about it', async () => {
    const refused = startLogged(encrypted.url, {});
    await expect(refused.started).rejects.toThrow(
      /this database holds encrypted personal data \(1 data key\(s\) in audit\.subject_keys\).*would store the personal fields of new records in clear.*--encryption-key-file FILE.*--no-encryption/,
    );
    const said = refused.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.includes('encrypted'));
    expect(said).toHaveLength(1);
    expect(said[0]?.level).toBeGreaterThanOrEqual(40);

    const allowed = startLogged(encrypted.url, { encryption: false });
    await (await allowed.started).close();
    const warned = allowed.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.includes('--no-encryption'));
    expect(warned).toMatchObject([{ level: 40, msg: 'storing personal fields in clear (--no-encryption) although this database holds encrypted ones' }]);

    await expect((startLogged(encrypted.url, { encryption: false, encryptionKeyFile: keyFile })).started).rejects.toThrow(/--no-encryption and an encryption key .* exclude each other/);
    await expect((startLogged(fresh.url, { encryption: true })).started).rejects.toThrow(/--encryption needs the key-encryption key: --encryption-key-file/);

    const plain = startLogged(fresh.url, {});
    await (await plain.started).close();
    expect(plain.lines.join('')).not.toMatch(/encrypt/i);
    expect(plain.lines.map((l) => (JSON.parse(l) as { level: number }).level).filter((level) => level >= 40)).toEqual([]);
  });

  it('the sink process says why it cannot start in one line on stderr, exit 1, for no key, a wrong key and a key file it cannot use', async () => {
    const other = newKeyFile(dir, 'other-kek');
    const folder = join(dir, 'a-directory');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(dir, 'empty-kek'), '');
    writeFileSync(join(dir, 'short-kek'), Buffer.alloc(31, 7));
    const cases: [string[], RegExp][] = [
      [[], /this database holds encrypted personal data .*--encryption-key-file FILE .*--no-encryption/],
      [['--encryption-key-file', other], /data key [0-9a-f]{16} is wrapped by the key-encryption key [0-9a-f]{16}, not by the one given/],
      [['--encryption-key-file', join(dir, 'missing-kek')], /cannot read the encryption key file .*missing-kek: ENOENT/],
      [['--encryption-key-file', folder], /cannot read the encryption key file .*a-directory: EISDIR/],
      [['--encryption-key-file', join(dir, 'empty-kek')], /empty-kek: the encryption key must be 32 bytes/],
      [['--encryption-key-file', join(dir, 'short-kek')], /short-kek: the encryption key must be 32 bytes/],
      [['--encryption-key', 'not-a-key'], /the encryption key variable: the encryption key must be 32 bytes/],
    ];
    for (const [args, message] of cases) {
      const r = await runSinkProcess(encrypted.url, args);
      expect({ args, code: r.code, listening: r.listening }).toEqual({ args, code: 1, listening: false });
      const lines = r.stderr.trimEnd().split('\n');
      expect({ args, lines }).toEqual({ args, lines: [expect.stringMatching(/^otel-audit sink: cannot start: /)] });
      expect(lines[0]).toMatch(message);
    }
    // With --no-encryption, and with the right key, it starts.
    for (const args of [['--no-encryption'], ['--encryption-key-file', keyFile]]) expect((await runSinkProcess(encrypted.url, args)).listening).toBe(true);
  });

  it('erase refuses to guess when an id has data keys both as an actor and as a tenant, and erases the one --subject-type names', async () => {
    // The same database, now written by a sink whose keys are per tenant, with a tenant named like the actor u-1.
    const sink = await startSink(
      { databaseUrl: encrypted.url, grpcPort: 0, httpPort: 0, metricsPort: 0, sealIntervalMs: 0, encryptionKeyFile: keyFile, encryptionSubject: 'tenant' },
      pino({ level: 'silent' }),
    );
    try {
      expect(await postLogs(`http://127.0.0.1:${sink.httpPort}`, logsRequest([personalRecord({ ...BOB, tenant: ALICE.id }, 2)]))).toMatchObject({ status: 200 });
    } finally {
      await sink.close();
    }
    const erase = (argv: string[]) => runCommand(eraseCommand, [...argv, '--encryption-key-file', keyFile, '--database-url', encrypted.url]);
    const both = await erase(['--subject', ALICE.id]);
    expect(both).toMatchObject({ code: 1, out: '' });
    expect(both.err).toContain('"u-1" has data keys both as an actor and as a tenant: say which with --subject-type actor or --subject-type tenant');
    const actor = await erase(['--subject', ALICE.id, '--subject-type', 'actor']);
    expect(actor.code).toBe(0);
    expect(actor.out).toMatch(/^erased actor [0-9a-f]{16}…: 1 data key/);
    // Now only the tenant has one: found without --subject-type.
    expect((await erase(['--subject', ALICE.id])).out).toMatch(/^erased tenant [0-9a-f]{16}…: 1 data key/);
  });
});
