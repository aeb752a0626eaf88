/**
 * The audit operation of a request (`PUT /users/:id` → `user.update` on
 * `user` `42`), derived from its method and route.
 */

import { capText, MAX_SEGMENT_LENGTH } from './input-limits.js';
import { singularize } from './inflection.js';
import { isIdSegment, safeDecode, splitSegments } from './path-segments.js';
import { ownString } from './route-template.js';

/** Audit operation derived from a method and route. */
export interface Operation {
  action: string;
  resourceType: string;
  resourceId?: string;
}

/** Resource type of a route without static segments. */
const ROOT_TYPE = 'root';
const VERSION_SEGMENT = /^v\d+(?:\.\d+)*$/i;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** `by-slug`, `by_email`, `byName`: how an item is looked up, not what it is. */
const LOOKUP_SEGMENT = /^[Bb]y(?:[-_][A-Za-z0-9]|[A-Z])/;

interface RouteSegment {
  text: string;
  isParam: boolean;
  /** Parameter value when known. */
  value: string | undefined;
}

/** The verbs of a method: on a collection (`list`, `create`, ...) and on an item (`read` for `list`). */
interface Verbs {
  collection: string;
  item: string;
}

function isParamSegment(s: string): boolean {
  return s.startsWith(':') || s.startsWith('*') || (s.startsWith('{') && s.endsWith('}'));
}

function paramName(s: string): string {
  if (s.startsWith('{')) return s.slice(1, -1);
  if (s === '*') return '*';
  const m = /^[:*]([A-Za-z0-9_$]+)/.exec(s);
  return m ? (m[1] as string) : s.slice(1);
}

/**
 * Without leading and trailing underscores. A loop, not `/^_+|_+$/g`: that
 * pattern retries its `_+$` branch at every underscore of a run, quadratic
 * in the run's length.
 */
function trimUnderscores(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) === 95) start++;
  while (end > start && s.charCodeAt(end - 1) === 95) end--;
  return s.slice(start, end);
}

/** Resource type as used in actions: lowercase, singular, `[a-z0-9_]` only. */
function resourceTypeOf(segment: string): string {
  const type = trimUnderscores(singularize(safeDecode(capText(segment, MAX_SEGMENT_LENGTH))).replace(/[^a-z0-9_]+/g, '_'));
  return type.length > 0 ? type : ROOT_TYPE;
}

/** A segment as the verb of an action: decoded, bounded, `[a-z0-9_]` only. */
function actionVerb(segment: string): string {
  const verb = trimUnderscores(safeDecode(capText(segment, MAX_SEGMENT_LENGTH)).toLowerCase().replace(/[^a-z0-9_]+/g, '_'));
  return verb.length > 0 ? verb : 'action';
}

function verbsOf(method: string): Verbs {
  switch (method) {
    case 'POST':
      return { collection: 'create', item: 'create' };
    case 'PUT':
    case 'PATCH':
      return { collection: 'update', item: 'update' };
    case 'DELETE':
      return { collection: 'delete', item: 'delete' };
    case 'GET':
    case 'HEAD':
      return { collection: 'list', item: 'read' };
    default: {
      const verb = method.toLowerCase();
      return { collection: verb, item: verb };
    }
  }
}

/** The route's segments; parameters (`:id`, `{id}`, `*`, or id-like text) carry their values when known. */
function routeSegments(route: string, params: Readonly<Record<string, string>>): RouteSegment[] {
  return splitSegments(route).map((text) => {
    if (isParamSegment(text)) return { text, isParam: true, value: ownString(params, paramName(text)) };
    if (isIdSegment(text)) return { text, isParam: true, value: safeDecode(text) };
    return { text, isParam: false, value: undefined };
  });
}

/** Without leading `api` / version (`v1`) segments: they never name the resource. */
function withoutApiPrefix(segments: readonly RouteSegment[]): RouteSegment[] {
  const first = segments.findIndex((s) => s.isParam || (s.text.toLowerCase() !== 'api' && !VERSION_SEGMENT.test(s.text)));
  return first === -1 ? [] : segments.slice(first);
}

/** The values of these parameter segments joined by `/`, or `undefined` when any is unknown (or there are none). */
function idFrom(parts: readonly RouteSegment[]): string | undefined {
  if (parts.length === 0 || parts.some((p) => p.value === undefined)) return undefined;
  return parts.map((p) => p.value as string).join('/');
}

function operation(resourceType: string, verb: string, resourceId: string | undefined): Operation {
  const action = `${resourceType}.${verb}`;
  return resourceId === undefined ? { action, resourceType } : { action, resourceType, resourceId };
}

/**
 * A mutating request to a singular static segment right after a parameter
 * is a named action on the item that parameter identifies:
 * `POST /builds/:id/cancel` → `build.cancel`. `undefined` otherwise.
 */
function namedAction(segs: readonly RouteSegment[], last: number, method: string): Operation | undefined {
  if (!segs[last - 1]?.isParam || !MUTATING.has(method)) return undefined;
  const name = safeDecode((segs[last] as RouteSegment).text).toLowerCase();
  if (singularize(name) !== name) return undefined;
  let owner = last - 1;
  while (owner >= 0 && (segs[owner] as RouteSegment).isParam) owner--;
  const ownerSeg = segs[owner];
  if (ownerSeg === undefined) return undefined;
  return operation(resourceTypeOf(ownerSeg.text), actionVerb(name), idFrom(segs.slice(owner + 1, last)));
}

/**
 * Derives the audit operation of a request from its method and route
 * template (a concrete path works too: id-like segments count as parameters).
 *
 * Leading `api` and version (`v1`) segments are ignored. The resource type is
 * the singular of the last static segment (the one before it when it says
 * how an item is looked up: `/notes/by-slug/:slug` → `note`); when
 * parameters follow it, their values form the resource id. The verb is `create` (POST), `update`
 * (PUT/PATCH), `delete` (DELETE), `read` (GET/HEAD on an item), `list`
 * (GET/HEAD on a collection) or the lowercased method. A mutating request
 * to a singular static segment right after a parameter is a named action on
 * that item: `POST /builds/:id/cancel` → `build.cancel`; a plural one is a
 * sub-collection: `POST /jobs/:job/builds` → `build.create`,
 * `GET /users/:id/posts` → `post.list`. A route without static segments has
 * the resource type `root`.
 */
export function deriveOperation(method: string, route: string, params: Readonly<Record<string, string>>): Operation {
  const verbMethod = method.toUpperCase();
  const verbs = verbsOf(verbMethod);
  const segs = withoutApiPrefix(routeSegments(route, params));
  const last = segs.findLastIndex((s) => !s.isParam);
  if (last === -1) {
    return segs.length > 0 ? operation(ROOT_TYPE, verbs.item, idFrom(segs)) : operation(ROOT_TYPE, verbs.collection, undefined);
  }
  const trailing = segs.slice(last + 1);
  // `/notes/by-slug/:slug`: the item is a note, found by its slug.
  const lookup = trailing.length > 0 && LOOKUP_SEGMENT.test((segs[last] as RouteSegment).text) && segs[last - 1]?.isParam === false;
  const type = resourceTypeOf((segs[lookup ? last - 1 : last] as RouteSegment).text);
  if (trailing.length > 0) return operation(type, verbs.item, idFrom(trailing));
  return namedAction(segs, last, verbMethod) ?? operation(type, verbs.collection, undefined);
}
