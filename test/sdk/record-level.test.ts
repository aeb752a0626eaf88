import { describe, expect, it } from 'vitest';
import {
  ATTR_AUDIT_CHANGE_AFTER, ATTR_AUDIT_META_PREFIX, ATTR_AUDIT_REQUEST, ATTR_USER_AGENT_ORIGINAL,
} from '../../src/contract/attributes.js';
import type { Level } from '../../src/contract/values.js';
import type { AuditFragment } from '../../src/sdk/fragment.js';
import { buildRecord } from '../../src/sdk/record-builder.js';

function recordAt(level: Level | undefined) {
  const fragment: AuditFragment = {
    source: 'auto',
    action: 'user.update',
    ...(level !== undefined ? { level } : {}),
    request: '{"query":{"q":"1"}}',
    after: '{"name":"b"}',
    meta: { ticket: 'T-1' },
    http: { method: 'PUT', userAgent: 'curl/8' },
  };
  return buildRecord(fragment, { traceId: 'a'.repeat(32), emitterId: 'e', emitterSeq: 1, resource: {}, nowMs: 0 });
}

describe('record contents by level', () => {
  it('keeps request, change, meta and user agent at full and basic and without a level', () => {
    for (const level of ['full', 'basic', undefined] as const) {
      const r = recordAt(level);
      expect(r.attributes[ATTR_AUDIT_REQUEST]).toBe('{"query":{"q":"1"}}');
      expect(r.attributes[ATTR_AUDIT_CHANGE_AFTER]).toBe('{"name":"b"}');
      expect(r.attributes[`${ATTR_AUDIT_META_PREFIX}ticket`]).toBe('T-1');
      expect(r.attributes[ATTR_USER_AGENT_ORIGINAL]).toBe('curl/8');
    }
  });

  it('keeps only who/what/when/outcome at minimal', () => {
    const r = recordAt('minimal');
    expect(r.attributes[ATTR_AUDIT_REQUEST]).toBeUndefined();
    expect(r.attributes[ATTR_AUDIT_CHANGE_AFTER]).toBeUndefined();
    expect(r.attributes[`${ATTR_AUDIT_META_PREFIX}ticket`]).toBeUndefined();
    expect(r.attributes[ATTR_USER_AGENT_ORIGINAL]).toBeUndefined();
  });
});
