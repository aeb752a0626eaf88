/**
 * The emitter: numbers finished merges (`audit.emitter.id`, `audit.emitter.seq`),
 * gives them the process's resource and hands them over as records, in order.
 */

import type { Resource } from '@opentelemetry/resources';
import { randomBytes } from 'node:crypto';
import type { AuditFragment } from './fragment.js';
import type { AuditAttributeValue, AuditRecord } from './record.js';
import { buildRecord } from './record-builder.js';
import type { RecordValueLimits } from './record-values.js';

/** Bytes of a random span id (for a record with no span) and of a random trace id (for one with no operation). */
const SPAN_ID_BYTES = 8;
const TRACE_ID_BYTES = 16;

/** A finished merge, waiting for its emitter sequence number and resource. */
export interface Ready {
  fragment: AuditFragment;
  traceId: string;
  incomplete: boolean;
  nowMs: number;
}

/** Scalar resource attributes; the first value of a key wins, as in `Resource.attributes`. */
function plainAttributes(res: Resource): Record<string, AuditAttributeValue> {
  const out: Record<string, AuditAttributeValue> = {};
  const entries: [string, unknown][] = res.asyncAttributesPending ? res.getRawAttributes() : Object.entries(res.attributes);
  for (const [k, v] of entries) {
    if (Object.hasOwn(out, k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

export class RecordEmitter {
  private seq = 0;
  /** The process's resource (from the first span), and its attributes once settled. */
  private resource: Resource | undefined;
  private resourceAttrs: Record<string, AuditAttributeValue> | undefined;
  private readonly waiting: Ready[] = [];
  private settlingResource: Promise<void> | undefined;

  constructor(
    readonly emitterId: string,
    private readonly limits: RecordValueLimits,
    private readonly onRecord: (record: AuditRecord) => void,
    private readonly report: (err: unknown) => void,
  ) {}

  /** Notes the process's resource; the first one seen is kept. */
  noteResource(resource: Resource): void {
    this.resource ??= resource;
  }

  /** `service.name` of the process's resource, once a span has shown the resource. */
  serviceName(): string | undefined {
    if (this.resourceAttrs) {
      const v = this.resourceAttrs['service.name'];
      return typeof v === 'string' ? v : undefined;
    }
    if (!this.resource) return undefined;
    // Raw entries: reading `attributes` while detectors still run is an error of its own.
    for (const [k, v] of this.resource.getRawAttributes()) if (k === 'service.name' && typeof v === 'string') return v;
    return undefined;
  }

  /** Settles when records waiting for resource detectors have been handed over (undefined: none ever waited). */
  get settling(): Promise<void> | undefined {
    return this.settlingResource;
  }

  /** A record of its own, outside any operation (a new trace id). */
  standalone(fragment: AuditFragment): void {
    const nowMs = Date.now();
    this.deliver([
      { fragment: { ...fragment, startMs: fragment.startMs ?? nowMs }, traceId: randomBytes(TRACE_ID_BYTES).toString('hex'), incomplete: false, nowMs },
    ]);
  }

  /** Hands over records still waiting for resource detectors, with the attributes settled so far (the process exits now). */
  deliverWaiting(): void {
    if (this.waiting.length === 0) return;
    this.resourceAttrs ??= this.resource ? plainAttributes(this.resource) : {};
    this.deliver(this.waiting.splice(0));
  }

  /**
   * Hand records over in order. Resource detectors may still be running at
   * start-up (service.name from the environment among them): records wait
   * for them, so that every record carries the process's full resource.
   */
  deliver(items: Ready[]): void {
    if (items.length === 0) return;
    if (this.resourceAttrs === undefined && this.resource?.asyncAttributesPending && this.resource.waitForAsyncAttributes) {
      this.waiting.push(...items);
      if (!this.settlingResource) {
        const res = this.resource;
        this.settlingResource = res
          .waitForAsyncAttributes?.()
          .catch((err: unknown) => this.report(err))
          .then(() => {
            this.resourceAttrs = plainAttributes(res);
            const queued = this.waiting.splice(0);
            this.deliver(queued);
          });
      }
      return;
    }
    if (this.waiting.length > 0) {
      this.waiting.push(...items);
      return;
    }
    if (this.resourceAttrs === undefined && this.resource) this.resourceAttrs = plainAttributes(this.resource);
    for (const it of items) {
      try {
        const spanId = it.fragment.spanId ?? randomBytes(SPAN_ID_BYTES).toString('hex');
        this.onRecord(
          buildRecord({ ...it.fragment, spanId }, {
            traceId: it.traceId,
            emitterId: this.emitterId,
            emitterSeq: ++this.seq,
            resource: this.resourceAttrs ?? {},
            incomplete: it.incomplete,
            nowMs: it.nowMs,
            limits: this.limits,
          }),
        );
      } catch (err) {
        this.report(err);
      }
    }
  }
}
