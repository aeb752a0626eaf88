import type { DecodedAttributes, DecodedScope, DecodedSpan, DecodedSpanEvent, DecodedSpanLink } from './decoded-types.js';
import { tagOf, WIRE } from './logs-fields.js';
import { SPAN_KIND_MAX, STATUS_CODE_MAX } from './numbers.js';
import { EXPORT_TRACE_REQUEST, RESOURCE_SPANS, SCOPE_SPANS, SPAN, SPAN_EVENT, SPAN_LINK, STATUS } from './trace-fields.js';
import { decodeNested, type WireNesting } from './wire-nesting.js';
import { U32_MAX, type WireReader } from './wire-reader.js';

/**
 * Decodes an ExportTraceServiceRequest straight from the protobuf wire
 * format into {@link DecodedSpan}s, with the same result as the schema path
 * (protobufjs decode + toObject + flatten) on well-formed input, and the
 * same rules as {@link decodeLogsWire}: malformed input throws, unknown
 * fields are skipped, and a varint beyond its field's range (an int64 of
 * more than 64 bits, a uint32 count above 2^32-1, a span kind above 5, a
 * status code above 2) is left out and the span marked `invalid` with the
 * reason. Each resource and scope is decoded once and shared by its spans.
 */
export function decodeTracesWire(bytes: Uint8Array): DecodedSpan[] {
  return decodeNested(bytes, TRACE_NESTING, span);
}

const TRACE_NESTING: WireNesting = {
  request: { resourceGroups: EXPORT_TRACE_REQUEST.resourceSpans },
  resourceGroup: { resource: RESOURCE_SPANS.resource, scopeGroups: RESOURCE_SPANS.scopeSpans },
  scopeGroup: { scope: SCOPE_SPANS.scope, items: SCOPE_SPANS.spans },
};

const { varint: VARINT, i64: I64, len: LEN, i32: I32 } = WIRE;

function span(r: WireReader, end: number, resource: DecodedAttributes, scope: DecodedScope): DecodedSpan {
  const sp: DecodedSpan = {
    resource,
    scope,
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: '',
    kind: 0,
    startTimeUnixNano: '0',
    endTimeUnixNano: '0',
    attributes: {},
    droppedAttributesCount: 0,
    status: { code: 0, message: '' },
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
  };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case tagOf(SPAN.traceId, LEN):
        sp.traceId = r.hex();
        break;
      case tagOf(SPAN.spanId, LEN):
        sp.spanId = r.hex();
        break;
      case tagOf(SPAN.traceState, LEN):
        sp.traceState = r.string();
        break;
      case tagOf(SPAN.parentSpanId, LEN):
        sp.parentSpanId = r.hex();
        break;
      case tagOf(SPAN.flags, I32):
        sp.flags = r.fixed32();
        break;
      case tagOf(SPAN.name, LEN):
        sp.name = r.string();
        break;
      case tagOf(SPAN.kind, VARINT):
        sp.kind = r.bounded('kind', SPAN_KIND_MAX, { enumMax: SPAN_KIND_MAX });
        break;
      case tagOf(SPAN.startTimeUnixNano, I64):
        sp.startTimeUnixNano = r.fixed64();
        break;
      case tagOf(SPAN.endTimeUnixNano, I64):
        sp.endTimeUnixNano = r.fixed64();
        break;
      case tagOf(SPAN.attributes, LEN):
        r.keyValue(r.end(), sp.attributes, 0, 'attribute');
        break;
      case tagOf(SPAN.droppedAttributesCount, VARINT):
        sp.droppedAttributesCount = r.bounded('droppedAttributesCount', U32_MAX, 'uint32');
        break;
      case tagOf(SPAN.events, LEN):
        sp.events.push(event(r, r.end(), `events[${sp.events.length}]`));
        break;
      case tagOf(SPAN.droppedEventsCount, VARINT):
        sp.droppedEventsCount = r.bounded('droppedEventsCount', U32_MAX, 'uint32');
        break;
      case tagOf(SPAN.links, LEN):
        sp.links.push(link(r, r.end(), `links[${sp.links.length}]`));
        break;
      case tagOf(SPAN.droppedLinksCount, VARINT):
        sp.droppedLinksCount = r.bounded('droppedLinksCount', U32_MAX, 'uint32');
        break;
      case tagOf(SPAN.status, LEN):
        sp.status = status(r, r.end());
        break;
      default:
        r.skip(tag);
    }
  }
  return sp;
}

function event(r: WireReader, end: number, name: string): DecodedSpanEvent {
  const ev: DecodedSpanEvent = { timeUnixNano: '0', name: '', attributes: {}, droppedAttributesCount: 0 };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === tagOf(SPAN_EVENT.timeUnixNano, I64)) ev.timeUnixNano = r.fixed64();
    else if (tag === tagOf(SPAN_EVENT.name, LEN)) ev.name = r.string();
    else if (tag === tagOf(SPAN_EVENT.attributes, LEN)) r.keyValue(r.end(), ev.attributes, 0, `${name} attribute`);
    else if (tag === tagOf(SPAN_EVENT.droppedAttributesCount, VARINT)) ev.droppedAttributesCount = r.bounded(`${name}.droppedAttributesCount`, U32_MAX, 'uint32');
    else r.skip(tag);
  }
  if (r.pos !== end) throw new Error('a span event overran its length');
  return ev;
}

function link(r: WireReader, end: number, name: string): DecodedSpanLink {
  const ln: DecodedSpanLink = { traceId: '', spanId: '', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === tagOf(SPAN_LINK.traceId, LEN)) ln.traceId = r.hex();
    else if (tag === tagOf(SPAN_LINK.spanId, LEN)) ln.spanId = r.hex();
    else if (tag === tagOf(SPAN_LINK.traceState, LEN)) ln.traceState = r.string();
    else if (tag === tagOf(SPAN_LINK.attributes, LEN)) r.keyValue(r.end(), ln.attributes, 0, `${name} attribute`);
    else if (tag === tagOf(SPAN_LINK.droppedAttributesCount, VARINT)) ln.droppedAttributesCount = r.bounded(`${name}.droppedAttributesCount`, U32_MAX, 'uint32');
    else if (tag === tagOf(SPAN_LINK.flags, I32)) ln.flags = r.fixed32();
    else r.skip(tag);
  }
  if (r.pos !== end) throw new Error('a span link overran its length');
  return ln;
}

function status(r: WireReader, end: number): DecodedSpan['status'] {
  const st = { code: 0, message: '' };
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === tagOf(STATUS.message, LEN)) st.message = r.string();
    else if (tag === tagOf(STATUS.code, VARINT)) st.code = r.bounded('status.code', STATUS_CODE_MAX, { enumMax: STATUS_CODE_MAX });
    else r.skip(tag);
  }
  if (r.pos !== end) throw new Error('a span status overran its length');
  return st;
}
