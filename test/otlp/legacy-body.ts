/**
 * The map body that otel-audit 0.1 emitters sent beside the attributes
 * (the record a second time, nested). Current emitters send no body; the
 * sink still accepts one, and tests build it from a fragment with this,
 * which is 0.1's record builder as it was.
 */
import type { JsonValue } from '../../src/contract/values.js';
import type { AuditFragment } from '../../src/sdk/fragment.js';
import { defaultRecordLimits, sanitizeFragment } from '../../src/sdk/record-builder.js';

type Body = { [key: string]: JsonValue };

export function legacyBody(raw: AuditFragment, incompleteRecord = false): Body {
  const f = sanitizeFragment(raw, defaultRecordLimits());
  const incomplete = incompleteRecord || f.incomplete === true;
  const minimal = f.level === 'minimal';
  // Built key by key (this runs once per record). Request and change values
  // stay the capped JSON text they already are, instead of being parsed back.
  const body: Body = { action: f.action, outcome: f.outcome ?? 'success' };
  const actor: Body = { type: f.actor?.type ?? 'anonymous' };
  if (f.actor?.id !== undefined) actor['id'] = f.actor.id;
  if (f.actor?.name !== undefined) actor['name'] = f.actor.name;
  body['actor'] = actor;
  if (f.tenant !== undefined) body['tenant_id'] = f.tenant;
  if (f.resourceType !== undefined || f.resourceId !== undefined) {
    const resource: Body = {};
    if (f.resourceType !== undefined) resource['type'] = f.resourceType;
    if (f.resourceId !== undefined) resource['id'] = f.resourceId;
    body['resource'] = resource;
  }
  if (f.module !== undefined) body['module'] = f.module;
  if (f.level !== undefined) body['level'] = f.level;
  const h = f.http;
  if (h) {
    const http: Body = {};
    if (h.method !== undefined) http['method'] = h.method;
    if (h.route !== undefined) http['route'] = h.route;
    if (h.path !== undefined) http['path'] = h.path;
    if (h.statusCode !== undefined) http['status_code'] = h.statusCode;
    if (h.clientAddress !== undefined) http['client_address'] = h.clientAddress;
    if (!minimal && h.userAgent !== undefined) http['user_agent'] = h.userAgent;
    body['http'] = http;
  }
  if (f.durationMs !== undefined) body['duration_ms'] = f.durationMs;
  if (f.error !== undefined) body['error'] = f.error;
  if (!minimal) {
    if (f.request !== undefined) body['request'] = f.request;
    if (f.before !== undefined || f.after !== undefined) {
      const change: Body = {};
      if (f.before !== undefined) change['before'] = f.before;
      if (f.after !== undefined) change['after'] = f.after;
      body['change'] = change;
    }
    if (f.meta && Object.keys(f.meta).length > 0) body['meta'] = { ...f.meta };
  }
  if (incomplete) body['incomplete'] = true;
  return body;
}
