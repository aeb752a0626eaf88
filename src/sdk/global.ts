import type { AuditFragment } from './fragment.js';
import type { OutboxContext } from './outbox-types.js';
import type { AuditSetInput } from './types.js';

/** Receives the record fragments of the manual API (`audit.record` / `audit.set`): the running audit span processor. */
export interface FragmentReceiver {
  /** Whether the current operation takes one more manual call (bounded per operation). */
  admit?(): boolean;
  addFragment(fragment: AuditFragment): void;
  enrich(input: AuditSetInput, sanitize: boolean): void;
  sanitize(value: unknown): string | undefined;
  /** For `audit.inTransaction()`: the current operation, the process's service name and value limits. */
  outboxContext?(): OutboxContext;
}

const KEY = Symbol.for('otel-audit.active-processor');
type Holder = { [KEY]?: FragmentReceiver };

/**
 * The processor lives on globalThis under a registered symbol, so that the
 * ESM and CommonJS copies of this package (an app may `require('otel-audit')`
 * while the register hook was `--import`ed) reach the same one.
 */
export function setActiveProcessor(receiver: FragmentReceiver): void {
  (globalThis as Holder)[KEY] = receiver;
}

export function clearActiveProcessor(receiver: FragmentReceiver): void {
  const g = globalThis as Holder;
  if (g[KEY] === receiver) delete g[KEY];
}

export function getActiveProcessor(): FragmentReceiver | undefined {
  return (globalThis as Holder)[KEY];
}
