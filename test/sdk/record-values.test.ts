import { describe, expect, it } from 'vitest';
import {
  capText, cleanErrorText, cleanName, MAX_NAME_LENGTH, storableJson, storableText, toText,
  unreservedAction,
} from '../../src/sdk/record-values.js';
import { sensitiveKeyTest } from '../../src/sdk/redact.js';

const NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

describe('record values', () => {
  it('text of ids: strings, numbers, bigints, booleans, Dates; nothing else', () => {
    expect(toText('a')).toBe('a');
    expect(toText(42)).toBe('42');
    expect(toText(NaN)).toBeUndefined();
    expect(toText(123n)).toBe('123');
    expect(toText(true)).toBe('true');
    expect(toText(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(toText(new Date(NaN))).toBeUndefined();
    expect(toText({})).toBeUndefined();
    expect(toText(Symbol('s'))).toBeUndefined();
  });

  it('NUL and lone surrogates become U+FFFD; pairs stay', () => {
    expect(storableText('a\u0000b')).toBe('a\uFFFDb');
    expect(storableText('x\ud800y\udc00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableText('ok \ud83d\ude00')).toBe('ok \ud83d\ude00');
    const plain = 'unchanged';
    expect(storableText(plain)).toBe(plain);
  });

  it('caps by UTF-8 bytes with the truncation marker, never splitting a pair', () => {
    expect(capText('short', 100)).toBe('short');
    const cut = capText('é'.repeat(5000), 1024);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1024);
    expect(cut).toMatch(/…\[truncated \d+ chars\]$/);
    const emoji = capText('\ud83d\ude00'.repeat(1000), 200);
    expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(200);
    expect(storableText(emoji)).toBe(emoji);
  });

  it('names stay dotted lower case and bounded', () => {
    expect(cleanName('user.update')).toBe('user.update');
    expect(cleanName('User.Login')).toBe('user.login');
    expect(cleanName('a b\u0000c..d.')).toBe('a_b_c.d');
    expect(cleanName('...')).toBeUndefined();
    const long = cleanName(`${'q'.repeat(300)}.read`)!;
    expect(long).toMatch(NAME);
    expect(long.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(long).toMatch(/_truncated\.read$/);
    const many = cleanName(Array.from({ length: 40 }, (_, i) => `seg${i}`).join('.'))!;
    expect(many).toMatch(NAME);
    expect(many.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(many.endsWith('.seg39')).toBe(true);
  });

  it('JSON text: escaped NULs and lone surrogates replaced, pairs and other escapes kept', () => {
    const json = JSON.stringify({ a: 'x\u0000y', b: '\ud800', ['k\u0000']: 1, c: '\ud83d\ude00', d: 'back\\u0000slash' });
    const out = storableJson(json);
    expect(out).not.toContain('x\\u0000y');
    expect(out).not.toContain('\\ud800');
    expect(JSON.parse(out)).toEqual({ a: 'x\uFFFDy', b: '\uFFFD', 'k\uFFFD': 1, c: '\ud83d\ude00', d: 'back\\u0000slash' });
    expect(out.length).toBeLessThanOrEqual(json.length);
    expect(storableJson('{"plain":true}')).toBe('{"plain":true}');
  });

  it('key=value pairs of sensitive keys are masked in free text', () => {
    const isSensitive = sensitiveKeyTest(['ssn']);
    expect(isSensitive('password')).toBe(true);
    expect(isSensitive('X-Api-Key')).toBe(true);
    expect(isSensitive('ssn')).toBe(true);
    expect(isSensitive('username')).toBe(false);
    const limits = { maxValueBytes: 4096, isSensitive };
    expect(cleanErrorText('login failed user=bob password=hunter2 ssn: 123', limits)).toBe('login failed user=bob password=[REDACTED] ssn: [REDACTED]');
    expect(cleanErrorText('bad {"token":"abc","id":"7"}', limits)).toBe('bad {"token":"[REDACTED]","id":"7"}');
    const msg = cleanErrorText(`cannot parse {"password":"pw","blob":"${'e'.repeat(10_000)}"}`, { maxValueBytes: 256, isSensitive });
    expect(msg).not.toContain('pw"');
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(256);
    expect(msg).toContain('[truncated');
  });
  it('actions in the reserved audit. namespace move to app.audit.', () => {
    expect(unreservedAction('audit.read')).toBe('app.audit.read');
    expect(unreservedAction('audit.export')).toBe('app.audit.export');
    expect(unreservedAction('auditor.read')).toBe('auditor.read');
    expect(unreservedAction('user.audit')).toBe('user.audit');
  });
});
