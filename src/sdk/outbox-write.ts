/**
 * `audit.inTransaction()`: one row in `audit_outbox.records`, written in the
 * caller's business transaction, that the relay later sends as an audit
 * log record. The values are sanitised, redacted and capped here exactly
 * like those of `audit.record()`; the row carries the whole record.
 */
import { diag } from '@opentelemetry/api';
import { randomBytes, randomUUID } from 'node:crypto';
import { actorOf, cleanMeta, idText, resourceOf } from './api-values.js';
import { capJson } from './cap-json.js';
import { resolveConfig } from './config.js';
import type { AuditFragment } from './fragment.js';
import type { FragmentReceiver } from './global.js';
import type { OutboxClient, OutboxContext, OutboxWriteInput } from './outbox-types.js';
import { fragmentAttributes, sanitizeFragment } from './record-builder.js';
import { sensitiveKeyTest } from './redact.js';
import { createRedactor } from './redactor.js';
import { defaultServiceName } from './service-name.js';

/** The one statement `audit.inTransaction()` runs. */
export const OUTBOX_INSERT_SQL =
  'INSERT INTO audit_outbox.records (id, trace_id, span_id, trace_flags, service_name, attributes) VALUES ($1, $2, $3, $4, $5, $6)';

/** Bytes of a fresh trace id and span id (a row written outside any operation). */
const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

/** An outbox row ready to be inserted, and how the operation's record is marked afterwards. */
export interface OutboxRow {
  id: string;
  /** Parameters of {@link OUTBOX_INSERT_SQL}, in order. */
  values: [string, string, string, number, string, string];
  /** The fragment that marks the operation's (action, resource) record; absent outside any operation. */
  mark?: AuditFragment;
}

let standalone: OutboxContext | undefined;

/** Limits and redaction of the configuration (environment) when the SDK is not started. */
function standaloneContext(): OutboxContext {
  if (!standalone) {
    const config = resolveConfig({});
    const redact = createRedactor(config.redactKeys, { maxBytes: config.maxValueBytes });
    standalone = {
      serviceName: defaultServiceName(),
      limits: { maxValueBytes: config.maxValueBytes, isSensitive: sensitiveKeyTest(config.redactKeys) },
      sanitize: (value) => (value === undefined ? undefined : capJson(redact(value), config.maxValueBytes)),
    };
  }
  return standalone;
}

/**
 * The row of a change, or undefined (reported) when the input cannot make
 * one. Never throws.
 */
export function prepareOutboxRow(client: OutboxClient, input: OutboxWriteInput, receiver: FragmentReceiver | undefined): OutboxRow | undefined {
  if (client === null || typeof client !== 'object' || typeof (client as { query?: unknown }).query !== 'function') {
    diag.error('otel-audit: audit.inTransaction() needs a client with query(text, values) (a pg Client/PoolClient or an adapter); nothing was written');
    return undefined;
  }
  if (input === null || typeof input !== 'object' || typeof input.action !== 'string' || input.action.length === 0) {
    diag.error('otel-audit: audit.inTransaction() needs an action; nothing was written');
    return undefined;
  }
  const resource = resourceOf(input.resource);
  if (resource?.type === undefined) {
    diag.error('otel-audit: audit.inTransaction() needs a resource type; nothing was written');
    return undefined;
  }
  const ctx = receiver?.outboxContext?.() ?? standaloneContext();
  const id = randomUUID();
  const f: AuditFragment = { source: 'manual', action: input.action, resourceType: resource.type, outcome: 'success' };
  if (resource.id !== undefined) f.resourceId = resource.id;
  const explicitActor = actorOf(input.actor);
  const explicitTenant = idText('tenant', input.tenant);
  const actor = explicitActor ?? ctx.actor;
  if (actor) f.actor = actor;
  const tenant = explicitTenant ?? ctx.tenant;
  if (tenant !== undefined) f.tenant = tenant;
  if (ctx.level !== undefined) f.level = ctx.level;
  if (ctx.module !== undefined) f.module = ctx.module;
  if (ctx.http) f.http = ctx.http;
  // Snapshot now: the caller may mutate these objects afterwards.
  if (input.before !== undefined) f.before = ctx.sanitize(input.before);
  if (input.after !== undefined) f.after = ctx.sanitize(input.after);
  const meta = cleanMeta(input.meta);
  if (meta) f.meta = meta;
  const attributes = fragmentAttributes(sanitizeFragment(f, ctx.limits));
  const inOperation = ctx.traceId !== undefined && ctx.spanId !== undefined;
  const row: OutboxRow = {
    id,
    values: [
      id,
      ctx.traceId ?? randomBytes(TRACE_ID_BYTES).toString('hex'),
      ctx.spanId ?? randomBytes(SPAN_ID_BYTES).toString('hex'),
      ctx.traceFlags ?? 0,
      ctx.serviceName,
      JSON.stringify(attributes),
    ],
  };
  if (inOperation) {
    // The operation's record of this (action, resource) names the row; its change values come only through the relay.
    const mark: AuditFragment = { source: 'manual', action: input.action, resourceType: resource.type, outboxId: id };
    if (resource.id !== undefined) mark.resourceId = resource.id;
    if (explicitActor) mark.actor = explicitActor;
    if (explicitTenant !== undefined) mark.tenant = explicitTenant;
    row.mark = mark;
  }
  return row;
}

/**
 * Write the row in the caller's transaction. Rejects only with the
 * INSERT's own error (which the caller's transaction must see); anything
 * else is reported and leaves the row unwritten.
 */
export async function writeOutboxRow(client: OutboxClient, row: OutboxRow): Promise<void> {
  await client.query(OUTBOX_INSERT_SQL, row.values);
}
