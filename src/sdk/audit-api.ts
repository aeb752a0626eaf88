import { diag } from '@opentelemetry/api';
import { actorOf, cleanMeta, idText, resourceOf } from './api-values.js';
import type { AuditFragment } from './fragment.js';
import { getActiveProcessor } from './global.js';
import { prepareOutboxRow, writeOutboxRow, type OutboxRow } from './outbox-write.js';
import type { OutboxClient, OutboxWriteInput } from './outbox-types.js';
import type { AuditRecordInput, AuditSetInput } from './types.js';

let warnedInactive = false;
let apiErrors = 0;

function inactive(): void {
  if (warnedInactive) return;
  warnedInactive = true;
  diag.warn('otel-audit: audit API called but the audit SDK is not started (use --import otel-audit/register or startAudit())');
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    apiErrors++;
    if (apiErrors === 1) diag.error('otel-audit: audit API error (the call was ignored)', err);
  }
}

/**
 * The manual audit API. Calls enrich the record of the current operation
 * (the server request the active span belongs to); the same action in the
 * same request is the same record, so middleware and handler describing one
 * operation never produce two, and two requests sharing a trace id never
 * produce one. Ids and meta values are converted to text here; calls past
 * the per-operation bound are ignored. Never throws into the caller.
 */
export const audit = {
  /** Describe (or enrich) an audited operation of the current request. */
  record(input: AuditRecordInput): void {
    guard(() => {
      const receiver = getActiveProcessor();
      if (!receiver) return inactive();
      if (!input || typeof input.action !== 'string' || input.action.length === 0) {
        diag.warn('otel-audit: audit.record() needs an action; ignored');
        return;
      }
      // Past the operation's bound nothing of the call is looked at.
      if (receiver.admit && !receiver.admit()) return;
      const f: AuditFragment = { source: 'manual', action: input.action };
      const resource = resourceOf(input.resource);
      if (resource?.type !== undefined) f.resourceType = resource.type;
      if (resource?.id !== undefined) f.resourceId = resource.id;
      const actor = actorOf(input.actor);
      if (actor) f.actor = actor;
      const tenant = idText('tenant', input.tenant);
      if (tenant !== undefined) f.tenant = tenant;
      if (input.outcome) f.outcome = input.outcome;
      // Snapshot now: the caller may mutate these objects afterwards.
      if (input.before !== undefined) f.before = receiver.sanitize(input.before);
      if (input.after !== undefined) f.after = receiver.sanitize(input.after);
      const meta = cleanMeta(input.meta);
      if (meta) f.meta = meta;
      receiver.addFragment(f);
    });
  },

  /**
   * Transactional outbox: write the audit record of a change into
   * `audit_outbox.records` with `client`, in the caller's open transaction
   * (a pg `Client`/`PoolClient` inside `BEGIN`, or an {@link OutboxClient}
   * adapter), so that the record exists if and only if the change
   * committed; `otel-audit relay` sends it. The row carries the current
   * trace and server span, the service name, the actor and tenant the
   * request already has, and the values sanitised and redacted like
   * `audit.record()`'s. The current operation's record of the same
   * (action, resource) is marked with `audit.outbox.id` (and gets no change
   * values from here); outside any operation the row has a trace id of its
   * own and becomes a record of the relay alone.
   *
   * Resolves with the row's id once the INSERT is done (await it before
   * COMMIT). Rejects only with the INSERT's own error, which the caller's
   * transaction must see; bad input is reported through `diag`, writes
   * nothing and resolves with `undefined`.
   */
  async inTransaction(client: OutboxClient, input: OutboxWriteInput): Promise<string | undefined> {
    let row: OutboxRow | undefined;
    guard(() => {
      row = prepareOutboxRow(client, input, getActiveProcessor());
    });
    if (!row) return undefined;
    const written: OutboxRow = row;
    await writeOutboxRow(client, written);
    const mark = written.mark;
    if (mark) {
      guard(() => {
        const receiver = getActiveProcessor();
        if (!receiver || (receiver.admit && !receiver.admit())) return;
        receiver.addFragment(mark);
      });
    }
    return written.id;
  },

  /** Enrich the current operation's record (actor, tenant, resource, meta); never creates a record. */
  set(input: AuditSetInput): void {
    guard(() => {
      const receiver = getActiveProcessor();
      if (!receiver) return inactive();
      if (input === null || typeof input !== 'object') return;
      if (receiver.admit && !receiver.admit()) return;
      const clean: AuditSetInput = {};
      const actor = actorOf(input.actor);
      if (actor) clean.actor = actor;
      const tenant = idText('tenant', input.tenant);
      if (tenant !== undefined) clean.tenant = tenant;
      const resource = resourceOf(input.resource);
      if (resource) clean.resource = resource;
      if (input.outcome) clean.outcome = input.outcome;
      if (input.before !== undefined) clean.before = input.before;
      if (input.after !== undefined) clean.after = input.after;
      const meta = cleanMeta(input.meta);
      if (meta) clean.meta = meta;
      receiver.enrich(clean, true);
    });
  },
};
