/**
 * The stored forms of encrypted fields, read back: format v2 (one envelope
 * per record, markers in the columns) as the sink writes it now, and format
 * v1 (one ciphertext per field) as earlier sinks wrote it, alone or mixed in
 * one record; erased, masked, tampered and look-alike values.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENCRYPTED, ERASED, kidsOf, revealRecord, UNDECRYPTABLE, type KeyRing } from '../../src/crypto/record-reader.js';
import { jsonMarker, openEnvelope, parseEnvelope, parseMarker, sealFields, textMarker } from '../../src/crypto/record-cipher.js';
import { encryptFieldV1, sealedToJsonV1, sealedToTextV1 } from '../helpers/v1-cipher.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const CONTEXT = `${TRACE}/${SPAN}`;
const keyA = randomBytes(32);
const keyB = randomBytes(32);

const FIELDS = {
  actor_name: 'alice',
  client_ip: '203.0.113.7',
  user_agent: 'curl/8.5',
  request: { body: { email: 'alice@example.com' } },
  change_before: { name: 'a' },
  change_after: { name: 'b', tags: [1, 'x'] },
};

/** A record as the sink stores it in format v2 under key `kid`. */
function storedV2(kid: string, key: Buffer, fields: Record<string, unknown> = FIELDS): Record<string, unknown> {
  return {
    trace_id: TRACE,
    span_id: SPAN,
    action: 'user.update',
    actor_id: 'u-1',
    actor_name: textMarker(kid),
    client_ip: null,
    user_agent: textMarker(kid),
    url_path: '/users/1',
    request: jsonMarker(kid),
    change_before: jsonMarker(kid),
    change_after: jsonMarker(kid),
    attributes: { 'audit.actor.index': 'ab', 'audit.client_ip.encrypted': textMarker(kid), 'audit.sealed': sealFields(key, kid, fields, CONTEXT), other: 1 },
  };
}

const clearOf = (r: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(['actor_name', 'client_ip', 'user_agent', 'request', 'change_before', 'change_after'].map((c) => [c, r[c]]));

describe('format v2: one envelope per record', () => {
  it('seals and opens the fields; another key, record or a changed byte does not open', () => {
    const text = sealFields(keyA, 'ka', FIELDS, CONTEXT);
    const envelope = parseEnvelope(text);
    expect(envelope).toMatchObject({ kid: 'ka' });
    expect(openEnvelope(keyA, envelope!, CONTEXT)).toEqual(FIELDS);
    expect(() => openEnvelope(keyB, envelope!, CONTEXT)).toThrow();
    expect(() => openEnvelope(keyA, envelope!, `${TRACE}/0000000000000001`)).toThrow();
    expect(() => openEnvelope(keyA, { ...envelope!, kid: 'kb' }, CONTEXT)).toThrow();
    const ct = Buffer.from(envelope!.ct, 'base64url');
    ct[0] = (ct[0] as number) ^ 1;
    expect(() => openEnvelope(keyA, { ...envelope!, ct: ct.toString('base64url') }, CONTEXT)).toThrow();
    // Two seals of the same fields differ (a fresh IV each).
    expect(sealFields(keyA, 'ka', FIELDS, CONTEXT)).not.toBe(text);
  });

  it('tells markers and envelopes from look-alikes', () => {
    expect(parseMarker('enc:v2:ka')).toEqual({ kid: 'ka', in: 'audit.sealed' });
    expect(parseMarker({ enc: 'v2', kid: 'ka' })).toEqual({ kid: 'ka', in: 'audit.sealed' });
    expect(parseMarker({ enc: 'v2', kid: 'ka', in: 'audit.sealed.outbox' })).toEqual({ kid: 'ka', in: 'audit.sealed.outbox' });
    for (const no of ['enc:v2:', 'enc:v2:a:b', 'enc:v1:a:b:c', 'alice', { enc: 'v2', kid: '' }, { enc: 'v2', kid: 'ka', in: 'elsewhere' }, [1], null, 3]) {
      expect(parseMarker(no), JSON.stringify(no)).toBeUndefined();
    }
    for (const no of ['enc:v2:ka', 'enc:v2:ka:short:ct', 'enc:v2:ka:AAAAAAAAAAAAAAAA', 'enc:v2:ka:AAAAAAAAAAAAAAAA:ct:more', { enc: 'v2' }]) {
      expect(parseEnvelope(no), JSON.stringify(no)).toBeUndefined();
    }
  });

  it('reveals every field with the key, and the envelope leaves the attributes', () => {
    const r = revealRecord(storedV2('ka', keyA), new Map([['ka', keyA]]));
    expect(clearOf(r)).toEqual(FIELDS);
    expect(r['attributes']).toEqual({ 'audit.actor.index': 'ab', other: 1 });
    expect(r['actor_id']).toBe('u-1');
  });

  it('shows the fields as erased or encrypted without the key, never failing', () => {
    for (const [keys, shown] of [
      [new Map(), ERASED],
      [new Map([['ka', null]]), ERASED],
      [new Map([['ka', ENCRYPTED]]), ENCRYPTED],
    ] as [KeyRing, string][]) {
      const r = revealRecord(storedV2('ka', keyA), keys);
      expect(Object.values(clearOf(r))).toEqual(Array(6).fill(shown));
      expect(r['attributes']).not.toHaveProperty('audit.sealed');
    }
  });

  it('a tampered envelope, or a marker of another key, reads as undecryptable; a field the envelope lacks keeps its stored value', () => {
    const tampered = storedV2('ka', keyA);
    const attrs = tampered['attributes'] as Record<string, string>;
    attrs['audit.sealed'] = sealFields(keyA, 'ka', FIELDS, `${TRACE}/0000000000000001`);
    expect(Object.values(clearOf(revealRecord(tampered, new Map([['ka', keyA]]))))).toEqual(Array(6).fill(UNDECRYPTABLE));

    const moved = storedV2('ka', keyA);
    moved['actor_name'] = textMarker('kb');
    const r = revealRecord(moved, new Map([['ka', keyA], ['kb', keyB]]));
    expect(r['actor_name']).toBe(UNDECRYPTABLE);
    expect(r['user_agent']).toBe('curl/8.5');

    // A clear value that looks like a marker: no envelope, or one without that column.
    const plain = { trace_id: TRACE, span_id: SPAN, actor_name: 'enc:v2:someone', attributes: {} };
    expect(revealRecord({ ...plain }, new Map())['actor_name']).toBe('enc:v2:someone');
    const partial = storedV2('ka', keyA, { actor_name: 'alice' });
    partial['url_path'] = textMarker('ka');
    expect(revealRecord(partial, new Map([['ka', keyA]]))).toMatchObject({ actor_name: 'alice', url_path: 'enc:v2:ka' });
  });

  it('a merged outbox row reads its change values from the outbox envelope', () => {
    const row = storedV2('ka', keyA, { actor_name: 'alice', request: { body: 1 } });
    const attrs = row['attributes'] as Record<string, unknown>;
    const outboxEnvelope = sealFields(keyB, 'kb', { actor_name: 'relay-side', change_before: { qty: 1 }, change_after: { qty: 2 } }, CONTEXT);
    attrs['audit.sealed.outbox'] = outboxEnvelope;
    row['change_before'] = jsonMarker('kb', 'audit.sealed.outbox');
    row['change_after'] = jsonMarker('kb', 'audit.sealed.outbox');
    expect(kidsOf([row]).sort()).toEqual(['ka', 'kb']);
    const r = revealRecord(row, new Map([['ka', keyA], ['kb', keyB]]));
    expect(r).toMatchObject({ actor_name: 'alice', request: { body: 1 }, change_before: { qty: 1 }, change_after: { qty: 2 } });
    expect(r['attributes']).not.toHaveProperty('audit.sealed.outbox');
    // The outbox record's subject erased: only its fields read as erased.
    const again = storedV2('ka', keyA, { actor_name: 'alice' });
    (again['attributes'] as Record<string, unknown>)['audit.sealed.outbox'] = outboxEnvelope;
    again['change_after'] = jsonMarker('kb', 'audit.sealed.outbox');
    expect(revealRecord(again, new Map([['ka', keyA], ['kb', null]]))).toMatchObject({ actor_name: 'alice', change_after: ERASED });
  });
});

describe('format v1: one ciphertext per field, as earlier sinks stored it', () => {
  it('stays readable, alone and next to format v2 records, and erases the same way', () => {
    const v1 = (column: string, value: unknown, json: boolean): unknown => {
      const s = encryptFieldV1(keyB, 'kb', column, value, CONTEXT);
      return json ? sealedToJsonV1(s) : sealedToTextV1(s);
    };
    const old = {
      trace_id: TRACE,
      span_id: SPAN,
      actor_name: v1('actor_name', 'bob', false),
      client_ip: null,
      user_agent: v1('user_agent', 'Mozilla/5.0', false),
      request: v1('request', { body: 2 }, true),
      change_before: null,
      change_after: v1('change_after', { n: 1 }, true),
      attributes: { 'audit.client_ip.encrypted': v1('client_ip', '2001:db8::42', false) },
    };
    const keys = new Map([
      ['ka', keyA],
      ['kb', keyB],
    ]);
    expect(kidsOf([old, storedV2('ka', keyA)]).sort()).toEqual(['ka', 'kb']);
    const r = revealRecord(structuredClone(old), keys);
    expect(clearOf(r)).toEqual({ actor_name: 'bob', client_ip: '2001:db8::42', user_agent: 'Mozilla/5.0', request: { body: 2 }, change_before: null, change_after: { n: 1 } });
    expect(clearOf(revealRecord(storedV2('ka', keyA), keys))).toEqual(FIELDS);
    const erased = revealRecord(structuredClone(old), new Map([['kb', null]]));
    expect(erased).toMatchObject({ actor_name: ERASED, client_ip: ERASED, request: ERASED, change_before: null });
    // A v1 ciphertext moved to another column does not decrypt.
    const moved = { ...structuredClone(old), actor_name: old.user_agent };
    expect(revealRecord(moved, keys)['actor_name']).toBe(UNDECRYPTABLE);
  });
});
