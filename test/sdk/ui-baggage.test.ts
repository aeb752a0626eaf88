import { describe, expect, it } from 'vitest';
import { fragmentAttributes } from '../../src/sdk/record-builder.js';
import { REDACTED, sensitiveKeyTest } from '../../src/sdk/redact.js';
import { MAX_BAGGAGE_CHARS, MAX_BAGGAGE_MEMBERS, MAX_UI_ENTRIES, MAX_UI_VALUE_BYTES, uiBaggage } from '../../src/sdk/ui-baggage.js';

const sensitive = sensitiveKeyTest([]);

describe('audit.ui.* baggage entries', () => {
  it('reads the audit.ui.* entries, percent-decoded, without properties, and ignores every other key', () => {
    const header = 'userId=alice,audit.ui.label=Delete%20user;prop=1, audit.ui.element = button%23delete-user ,audit.meta.x=1,audit.uix=2,audit.ui.event=click';
    expect(uiBaggage(header, sensitive)).toEqual({ label: 'Delete user', element: 'button#delete-user', event: 'click' });
  });

  it('gives nothing for no header, baggage without ui keys, or empty values', () => {
    expect(uiBaggage(undefined, sensitive)).toBeUndefined();
    expect(uiBaggage('session=abc,tenant=t-1', sensitive)).toBeUndefined();
    expect(uiBaggage('audit.ui.label=,audit.ui.element=%20', sensitive)).toBeUndefined();
  });

  it('joins repeated headers and keeps the first of a repeated key', () => {
    expect(uiBaggage(['audit.ui.label=First', 'audit.ui.label=Second,audit.ui.event=click'], sensitive)).toEqual({ label: 'First', event: 'click' });
  });

  it('ignores keys that are not short lower-case names (no __proto__, no dots, no capitals)', () => {
    const long = 'k'.repeat(33);
    const out = uiBaggage(`audit.ui.__proto__=x,audit.ui.constructor=y,audit.ui.a.b=1,audit.ui.Label=2,audit.ui.${long}=3,audit.ui.ok=4`, sensitive);
    expect(out).toEqual({ constructor: 'y', ok: '4' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('caps an oversized value with the truncation marker', () => {
    const out = uiBaggage(`audit.ui.label=${'x'.repeat(4_000)}`, sensitive);
    expect(Buffer.byteLength(out!['label']!, 'utf8')).toBeLessThanOrEqual(MAX_UI_VALUE_BYTES);
    expect(out!['label']).toMatch(/^x+…\[truncated \d+ chars\]$/);
  });

  it(`keeps at most ${MAX_UI_ENTRIES} entries`, () => {
    const members = Array.from({ length: 50 }, (_, i) => `audit.ui.k${i}=${i}`);
    const out = uiBaggage(members.join(','), sensitive)!;
    expect(Object.keys(out)).toEqual(Array.from({ length: MAX_UI_ENTRIES }, (_, i) => `k${i}`));
  });

  it(`looks at no member past the first ${MAX_BAGGAGE_MEMBERS}, nor past ${MAX_BAGGAGE_CHARS} characters`, () => {
    const filler = Array.from({ length: MAX_BAGGAGE_MEMBERS }, (_, i) => `f${i}=1`).join(',');
    expect(uiBaggage(`${filler},audit.ui.label=late`, sensitive)).toBeUndefined();
    const wide = `pad=${'p'.repeat(MAX_BAGGAGE_CHARS)}`;
    expect(uiBaggage(`${wide},audit.ui.label=late`, sensitive)).toBeUndefined();
    // A member cut by the character bound is dropped whole, not kept shortened.
    const cut = `pad=${'p'.repeat(MAX_BAGGAGE_CHARS - 40)},audit.ui.label=${'L'.repeat(100)}`;
    expect(uiBaggage(cut, sensitive)).toBeUndefined();
  });

  it('redacts by the record rules: sensitive keys, key=value pairs, card numbers, configured keys', () => {
    const out = uiBaggage(
      `audit.ui.token=abc,audit.ui.label=${encodeURIComponent('Pay 4111 1111 1111 1111 password=hunter2')},audit.ui.ssn=123-45-6789`,
      sensitiveKeyTest(['ssn']),
    )!;
    expect(out['token']).toBe(REDACTED);
    expect(out['ssn']).toBe(REDACTED);
    expect(out['label']).not.toContain('4111');
    expect(out['label']).not.toContain('hunter2');
    expect(out['label']).toContain(`password=${REDACTED}`);
  });

  it('a record holds them as audit.ui.* at full and basic, not at minimal', () => {
    const fragment = { source: 'auto' as const, action: 'user.delete', ui: { label: 'Delete user', element: 'button#delete-user' } };
    expect(fragmentAttributes({ ...fragment, level: 'full' })).toMatchObject({ 'audit.ui.label': 'Delete user', 'audit.ui.element': 'button#delete-user' });
    expect(fragmentAttributes({ ...fragment, level: 'basic' })['audit.ui.label']).toBe('Delete user');
    expect(fragmentAttributes({ ...fragment, level: 'minimal' })['audit.ui.label']).toBeUndefined();
  });
});
