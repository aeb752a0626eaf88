/**
 * CSV and OCSF exports of encrypted records: with the key-encryption key
 * every encrypted column reads in clear, erased subjects as "[erased]",
 * every other field as the export without the key wrote it; the manifest
 * describes the file written and the audit.export record says it was decrypted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { EXPORT_COLUMNS, exportRecords, type ExportFormat } from '../../src/compliance/export.js';
import { parseCsvRecord } from '../../src/compliance/export-reveal.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { validateOcsf } from '../compliance/ocsf/validate.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { ALICE, ALL_COLUMNS, BOB, expected, record, startEncryptedSink, type EncryptedSink, type Person } from './people.js';
import { withoutCiphertexts } from '../helpers/personal-records.js';

let e: EncryptedSink | undefined;

/** The exported file's lines of the test's records, and its manifest. */
async function exportFile(format: ExportFormat, name: string, withKey: boolean): Promise<{ lines: string[]; sha256: string; manifestSha: string; auditId: string }> {
  const { sink, dir, kek } = e as EncryptedSink;
  const out = join(dir, name);
  const result = await exportRecords(sink.sink.db, {
    from: '2000-01-01',
    to: '2100-01-01',
    format,
    out,
    actor: 'tester',
    filters: { action: ['user.update'] },
    ...(withKey ? { kek } : {}),
  });
  const text = readFileSync(out, 'utf8');
  const lines = format === 'csv' ? text.split('\r\n').slice(1, -1) : text.split('\n').slice(0, -1);
  return { lines, sha256: createHash('sha256').update(text).digest('hex'), manifestSha: result.manifest.sha256, auditId: result.manifest.auditRecordId };
}

/** A CSV record as column → value (JSON columns parsed). */
function csvRecord(line: string): Record<string, unknown> {
  const fields = parseCsvRecord(`${line}\r\n`);
  expect(fields).toHaveLength(EXPORT_COLUMNS.length);
  return Object.fromEntries(
    EXPORT_COLUMNS.map((c, i) => {
      const v = fields[i]?.value ?? null;
      return [c, v !== null && ['request', 'change_before', 'change_after', 'attributes'].includes(c) ? (JSON.parse(v) as unknown) : v];
    }),
  );
}

/** The OCSF attributes an encrypted record's personal fields go to. */
function ocsfPersonal(p: Person, n: number): Record<string, unknown> {
  return {
    actor: { user: { uid: p.id, name: p.name, type_id: 1, type: 'User' } },
    src_endpoint: { ip: p.ip },
    http_request: { user_agent: p.agent, url: { path: `/users/${n}/${p.name}` } },
  };
}

describe.each(['postgres', 'pglite'] as const)('decrypted CSV and OCSF exports (%s)', (backend) => {
  beforeEach(async () => {
    e = await startEncryptedSink(backend, { encryptColumns: ALL_COLUMNS });
  });
  afterEach(async () => {
    await e?.stop();
    e = undefined;
  });

  it('round-trips every encrypted column, shows erased subjects as erased, and keeps the manifest true to the file', async () => {
    const { sink, kek } = e as EncryptedSink;
    expect(await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2)]))).toEqual({ status: 200, rejected: 0, message: '' });
    await sealOnce(sink.sink.db, { settleMs: 0 });

    // CSV: the encrypted columns in clear, every other field as without the key.
    const stored = await exportFile('csv', 'stored.csv', false);
    expect(withoutCiphertexts(stored.lines.join('\n'))).not.toContain('alice');
    const csv = await exportFile('csv', 'clear.csv', true);
    expect(csv.manifestSha).toBe(csv.sha256);
    const people = [ALICE, BOB];
    csv.lines.forEach((line, i) => {
      const clear = csvRecord(line);
      const raw = csvRecord(stored.lines[i] as string);
      expect(clear).toMatchObject(expected(people[i] as Person, i + 1));
      for (const c of EXPORT_COLUMNS) if (!(c in ENCRYPTABLE) && c !== 'attributes') expect(clear[c]).toEqual(raw[c]);
      // What only held ciphertext leaves the attributes: the client address and the record's envelope.
      expect(raw['attributes']).toHaveProperty('audit.sealed');
      const kept = Object.entries(raw['attributes'] as object).filter(([k]) => k !== 'audit.client_ip.encrypted' && k !== 'audit.sealed');
      expect(clear['attributes']).toEqual(Object.fromEntries(kept));
    });

    // OCSF: the personal attributes in clear, valid events.
    const ocsf = await exportFile('ocsf', 'clear.ocsf.jsonl', true);
    expect(ocsf.manifestSha).toBe(ocsf.sha256);
    ocsf.lines.forEach((line, i) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      expect(validateOcsf(event)).toEqual([]);
      expect(event).toMatchObject(ocsfPersonal(people[i] as Person, i + 1));
    });
    const ocsfStored = await exportFile('ocsf', 'stored.ocsf.jsonl', false);
    expect(withoutCiphertexts(ocsfStored.lines.join('\n'))).not.toContain('alice');

    const { rows } = await sink.sink.db.query<{ id: string; attributes: Record<string, unknown> }>(
      "SELECT id::text AS id, attributes FROM audit.records WHERE action = 'audit.export' ORDER BY id",
    );
    expect(rows.map((r) => [r.id, r.attributes['format'], r.attributes['decrypted']])).toEqual([
      [stored.auditId, 'csv', false],
      [csv.auditId, 'csv', true],
      [ocsf.auditId, 'ocsf', true],
      [ocsfStored.auditId, 'ocsf', false],
    ]);

    await eraseRecords(sink.sink.db, { kek, subject: 'u-1', mode: 'actor', actor: 'dpo' });
    const erasedCsv = (await exportFile('csv', 'erased.csv', true)).lines.map(csvRecord);
    const erased = Object.fromEntries(Object.keys(ENCRYPTABLE).map((c) => [c, '[erased]']));
    expect(erasedCsv[0]).toMatchObject({ ...erased, action: 'user.update', resource_id: '1', outcome: 'success', trace_id: record(ALICE, 1).traceId });
    expect(erasedCsv[1]).toMatchObject(expected(BOB, 2));
    const erasedOcsf = (await exportFile('ocsf', 'erased.ocsf.jsonl', true)).lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(erasedOcsf[0]).toMatchObject({
      actor: { user: { uid: '[erased]', name: '[erased]' } },
      src_endpoint: { name: '[erased]' },
      http_request: { user_agent: '[erased]', url: { path: '[erased]' } },
      api: { operation: 'user.update' },
      resources: [{ type: 'user', uid: '1' }],
    });
    expect(validateOcsf(erasedOcsf[0])).toEqual([]);
    expect(erasedOcsf[1]).toMatchObject(ocsfPersonal(BOB, 2));
    expect(JSON.stringify(erasedOcsf)).not.toContain('alice');
  });
});
