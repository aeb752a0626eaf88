/**
 * audit.readable() (migrations 000010, 000012) on both backends: a
 * ciphertext of either format (v1 per field; v2 markers and envelopes) reads
 * as "[encrypted]" while its data key lives, "[erased]" once destroyed or
 * unknown; every other value, text or JSON, passes through unchanged. On
 * Postgres every reading role may call it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonMarker, sealFields, textMarker } from '../../src/crypto/record-cipher.js';
import { migrate } from '../../src/db/migrate.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';
import { encryptFieldV1, sealedToJsonV1, sealedToTextV1 } from '../helpers/v1-cipher.js';

const key = randomBytes(32);
const text = (kid: string): string => sealedToTextV1(encryptFieldV1(key, kid, 'actor_name', 'alice', 't/s'));
const json = (kid: string): string => JSON.stringify(sealedToJsonV1(encryptFieldV1(key, kid, 'request', { body: 1 }, 't/s')));
const envelope = (kid: string): string => sealFields(key, kid, { actor_name: 'alice', client_ip: '10.0.0.1' }, 't/s');

describe.each(['postgres', 'pglite'] as const)('audit.readable (%s)', (backend) => {
  let b: TestBackend;
  beforeAll(async () => {
    b = await openTestBackend(backend, 2);
    await migrate(b.db);
    await b.db.query(
      `INSERT INTO audit.subject_keys (kid, subject_index, wrapped_key, kek_id, erased_at) VALUES
         ('live', 's-1', '\\x00'::bytea, 'k', NULL), ('gone', 's-2', NULL, 'k', now())`,
    );
  }, 180_000);
  afterAll(async () => {
    await b?.teardown();
  });

  const one = async (sql: string, params: unknown[]): Promise<unknown> => (await b.db.query<{ v: unknown }>(`SELECT ${sql} AS v`, params)).rows[0]?.v;

  it('shows text ciphertexts as encrypted or erased, and passes plain text through', async () => {
    expect(await one('audit.readable($1::text)', [text('live')])).toBe('[encrypted]');
    expect(await one('audit.readable($1::text)', [text('gone')])).toBe('[erased]');
    expect(await one('audit.readable($1::text)', [text('never-seen')])).toBe('[erased]');
    for (const plain of ['alice', 'enc:v1:', 'enc:v1:live', '', 'Enc:v1:live:a:b']) expect(await one('audit.readable($1::text)', [plain])).toBe(plain);
    expect(await one('audit.readable($1::text)', [null])).toBeNull();
  });

  it('shows format v2 markers and envelopes as encrypted or erased, and passes look-alikes through', async () => {
    expect(await one('audit.readable($1::text)', [textMarker('live')])).toBe('[encrypted]');
    expect(await one('audit.readable($1::text)', [textMarker('gone')])).toBe('[erased]');
    expect(await one('audit.readable($1::text)', [envelope('live')])).toBe('[encrypted]');
    expect(await one('audit.readable($1::text)', [envelope('gone')])).toBe('[erased]');
    for (const plain of ['enc:v2:', 'enc:v2:a:b', 'enc:v2:a:b:c:d', 'enc:v3:live']) expect(await one('audit.readable($1::text)', [plain])).toBe(plain);
    expect(await one('audit.readable($1::jsonb)', [JSON.stringify(jsonMarker('live'))])).toBe('[encrypted]');
    expect(await one('audit.readable($1::jsonb)', [JSON.stringify(jsonMarker('gone', 'audit.sealed.outbox'))])).toBe('[erased]');
    for (const plain of [{ enc: 'v2', kid: 'live', note: 'x' }, { enc: 'v2', kid: 3 }, { enc: 'v2' }]) {
      expect(await one('audit.readable($1::jsonb)', [JSON.stringify(plain)])).toEqual(plain);
    }
    const attrs = {
      'audit.actor.index': 'ab',
      'audit.client_ip.encrypted': textMarker('live'),
      'audit.sealed': envelope('live'),
      'audit.sealed.outbox': envelope('gone'),
      other: 'enc:v2:live',
    };
    expect(await one('audit.readable($1::jsonb)', [JSON.stringify(attrs)])).toEqual({
      ...attrs,
      'audit.client_ip.encrypted': '[encrypted]',
      'audit.sealed': '[encrypted]',
      'audit.sealed.outbox': '[erased]',
    });
    expect(await one('audit.readable_client_ip(NULL, $1::jsonb)', [JSON.stringify(attrs)])).toBe('[encrypted]');
    const odd = { 'audit.sealed': 3 };
    expect(await one('audit.readable($1::jsonb)', [JSON.stringify(odd)])).toEqual(odd);
  });

  it('shows JSON ciphertexts and the encrypted client address in attributes, and passes other JSON through', async () => {
    expect(await one('audit.readable($1::jsonb)', [json('live')])).toBe('[encrypted]');
    expect(await one('audit.readable($1::jsonb)', [json('gone')])).toBe('[erased]');
    const attrs = { 'audit.actor.index': 'ab', 'audit.client_ip.encrypted': sealedToTextV1(encryptFieldV1(key, 'gone', 'client_ip', '10.0.0.1', 't/s')) };
    expect(await one('audit.readable($1::jsonb)', [JSON.stringify(attrs)])).toEqual({ ...attrs, 'audit.client_ip.encrypted': '[erased]' });
    expect(await one('audit.readable_client_ip(NULL, $1::jsonb)', [JSON.stringify(attrs)])).toBe('[erased]');
    expect(await one("audit.readable_client_ip('10.0.0.1'::inet, $1::jsonb)", ['{}'])).toBe('10.0.0.1');
    for (const plain of [{ name: 'carol' }, { enc: 'v1', kid: 'live' }, [1, 2], 'text', 3, null]) {
      expect(await one('audit.readable($1::jsonb)', [JSON.stringify(plain)])).toEqual(plain);
    }
    expect(await one('audit.readable($1::jsonb)', [null])).toBeNull();
  });

  it.runIf(backend === 'postgres')('may be called by every reading role', async () => {
    for (const role of ['audit_reader', 'audit_auditor', 'audit_admin', 'audit_service']) {
      const v = await b.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL ROLE ${role}`);
        return (await tx.query<{ v: string }>('SELECT audit.readable($1::text) AS v', [text('live')])).rows[0]?.v;
      });
      expect(v, role).toBe('[encrypted]');
    }
  });
});
