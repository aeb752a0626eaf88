import type { DecodedAttributes, DecodedScope, InvalidNumbers } from './decoded-types.js';
import { tagOf, WIRE } from './logs-fields.js';
import { WireReader } from './wire-reader.js';

/**
 * The three levels every OTLP export request shares: the request holds
 * resource groups (ResourceLogs, ResourceSpans), each a resource and scope
 * groups (ScopeLogs, ScopeSpans), each a scope and the items (log records,
 * spans). Field numbers of one signal's messages.
 */
export interface WireNesting {
  /** The request's repeated resource group. */
  request: { resourceGroups: number };
  /** The resource group: its resource and repeated scope group. */
  resourceGroup: { resource: number; scopeGroups: number };
  /** The scope group: its scope and repeated item. */
  scopeGroup: { scope: number; items: number };
}

/** Decodes one item between `r.pos` and `end`, under its (shared) resource and scope. */
export type ItemDecoder<T> = (r: WireReader, end: number, resource: DecodedAttributes, scope: DecodedScope) => T;

const LEN = WIRE.len;

/**
 * Decodes a whole export request into its items, in request order. Each
 * resource and scope is decoded once and shared by its items (nothing
 * downstream changes them). An item whose resource, scope or own fields
 * hold a value out of range is marked `invalid` with the first such reason
 * (resource, then scope, then item). Unknown fields are skipped.
 */
export function decodeNested<T extends { invalid?: InvalidNumbers }>(bytes: Uint8Array, nesting: WireNesting, item: ItemDecoder<T>): T[] {
  const r = new WireReader(bytes);
  const out: T[] = [];
  const groupTag = tagOf(nesting.request.resourceGroups, LEN);
  while (r.pos < r.buf.length) {
    const tag = r.varint();
    if (tag === groupTag) resourceGroup(r, r.end(), nesting, item, out);
    else r.skip(tag);
  }
  return out;
}

/** The [start, end) ranges of the fields tagged `tag` up to `end`; `other` reads any other field. */
function ranges(r: WireReader, end: number, tag: number, other: (tag: number) => void): [number, number][] {
  const found: [number, number][] = [];
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag) {
      const e = r.end();
      found.push([r.pos, e]);
      r.pos = e;
    } else {
      other(t);
    }
  }
  return found;
}

function resourceGroup<T extends { invalid?: InvalidNumbers }>(r: WireReader, end: number, nesting: WireNesting, item: ItemDecoder<T>, out: T[]): void {
  let resource: DecodedAttributes = {};
  let problem: string | undefined;
  const resourceTag = tagOf(nesting.resourceGroup.resource, LEN);
  const scopes = ranges(r, end, tagOf(nesting.resourceGroup.scopeGroups, LEN), (tag) => {
    if (tag !== resourceTag) return r.skip(tag);
    r.problem = undefined;
    resource = r.resource(r.end());
    problem = r.problem;
  });
  // Scope groups are read after the resource, wherever it stood on the wire.
  for (const [start, e] of scopes) {
    r.pos = start;
    scopeGroup(r, e, nesting, item, resource, problem, out);
  }
  r.pos = end;
}

function scopeGroup<T extends { invalid?: InvalidNumbers }>(
  r: WireReader, end: number, nesting: WireNesting, item: ItemDecoder<T>, resource: DecodedAttributes, resourceProblem: string | undefined, out: T[],
): void {
  let scope: DecodedScope = { name: '', version: '', attributes: {} };
  let scopeProblem: string | undefined;
  const scopeTag = tagOf(nesting.scopeGroup.scope, LEN);
  const items = ranges(r, end, tagOf(nesting.scopeGroup.items, LEN), (tag) => {
    if (tag !== scopeTag) return r.skip(tag);
    r.problem = undefined;
    scope = r.scope(r.end());
    scopeProblem = r.problem;
  });
  for (const [start, e] of items) {
    r.pos = start;
    r.problem = undefined;
    const decoded = item(r, e, resource, scope);
    if (r.pos !== e) throw new Error('a record overran its length');
    const problem = resourceProblem ?? scopeProblem ?? r.problem;
    if (problem !== undefined) decoded.invalid = { reason: problem };
    out.push(decoded);
  }
  r.pos = end;
}
