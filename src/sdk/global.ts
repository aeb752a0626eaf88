import type { AuditFragment } from './fragment.js';
import type { AuditSetInput } from './types.js';

/** What the manual API talks to: the running audit span processor. */
export interface FragmentSink {
  /** Whether the current operation takes one more manual call (bounded per operation). */
  admit?(): boolean;
  addFragment(fragment: AuditFragment): void;
  enrich(input: AuditSetInput, sanitize: boolean): void;
  sanitize(value: unknown): string | undefined;
}

const KEY = Symbol.for('otel-audit.active-processor');
type Holder = { [KEY]?: FragmentSink };

/**
 * The processor lives on globalThis under a registered symbol, so that the
 * ESM and CommonJS copies of this package (an app may `require('otel-audit')`
 * while the register hook was `--import`ed) reach the same one.
 */
export function setActiveProcessor(sink: FragmentSink): void {
  (globalThis as Holder)[KEY] = sink;
}

export function clearActiveProcessor(sink: FragmentSink): void {
  const g = globalThis as Holder;
  if (g[KEY] === sink) delete g[KEY];
}

export function getActiveProcessor(): FragmentSink | undefined {
  return (globalThis as Holder)[KEY];
}
