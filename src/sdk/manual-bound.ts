/**
 * The per-operation bound of the manual API: how many `audit.record()` /
 * `audit.set()` calls, and how many bytes of their values, one operation
 * takes. Later calls are ignored, counted, and the record says how many.
 */

import { diag } from '@opentelemetry/api';
import type { AuditFragment } from './fragment.js';
import type { Scope } from './operation-scopes.js';

/** Manual API calls (`audit.record` / `audit.set`) taken per operation; later ones are ignored and counted. */
export const MAX_MANUAL_CALLS_PER_OPERATION = 256;
/** Bytes of sanitised manual API values (before/after/meta) taken per operation; past it calls are ignored and counted. */
export const MAX_MANUAL_BYTES_PER_OPERATION = 1024 * 1024;
/** After the first ignored call, one report per this many more. */
const REPORT_EVERY = 10_000;

/** Rough size of manual API values, for the per-operation byte bound. */
function manualBytes(f: AuditFragment): number {
  let n = (f.before?.length ?? 0) + (f.after?.length ?? 0);
  if (f.meta) for (const k in f.meta) n += k.length + String(f.meta[k]).length;
  return n;
}

/** Counts manual calls and bytes per operation, and ignored calls per process. */
export class ManualCallBound {
  private ignoredTotal = 0;

  /** Whether the operation takes one more call (counted when it does). */
  admit(scope: Scope): boolean {
    if (scope.manualCalls < MAX_MANUAL_CALLS_PER_OPERATION && scope.manualBytes <= MAX_MANUAL_BYTES_PER_OPERATION) {
      scope.manualCalls++;
      return true;
    }
    this.ignore(scope);
    return false;
  }

  /** Whether the operation takes the bytes of this fragment's values (counted when it does). */
  takeBytes(scope: Scope, f: AuditFragment): boolean {
    const n = manualBytes(f);
    if (scope.manualBytes + n > MAX_MANUAL_BYTES_PER_OPERATION) {
      scope.manualBytes = MAX_MANUAL_BYTES_PER_OPERATION + 1;
      this.ignore(scope);
      return false;
    }
    scope.manualBytes += n;
    return true;
  }

  private ignore(scope: Scope): void {
    scope.manualIgnored++;
    this.ignoredTotal++;
    if (this.ignoredTotal === 1 || this.ignoredTotal % REPORT_EVERY === 0) {
      diag.warn(
        `otel-audit: manual audit calls past the bound of ${MAX_MANUAL_CALLS_PER_OPERATION} calls / ` +
          `${MAX_MANUAL_BYTES_PER_OPERATION} bytes per operation are ignored (${this.ignoredTotal} so far)`,
      );
    }
  }
}
