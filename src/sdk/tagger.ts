import { diag, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { levelContents, outcomeOf } from '../contract/values.js';
import type { IncomingMessage } from 'node:http';
import { actorFromClaims, actorFromUser, decodeJwtClaims, normalizeActor, type Actor } from './actor.js';
import { parseTrustedProxies, resolveClientAddress, type TrustedProxies } from './client-ip.js';
import type { ResolvedAuditConfig } from './config.js';
import type { AuditFragment } from './fragment.js';
import { compileKeyedRules, compileSubtreeRules, type KeyedRule, type PathRule, type RuleTable } from './path-rules.js';
import { BoundedCache } from './bounded-cache.js';
import { parseQuery } from './query.js';
import { createStaticTest, isPreflight } from './quiet-requests.js';
import { capJson } from './cap-json.js';
import { createRedactor } from './redactor.js';
import { bodyForRecord, type CapturedRequest } from './request-capture.js';
import { deriveOperation, type Operation } from './operation.js';
import { templatePath } from './path-segments.js';
import { compileRouteTable, type RouteRule, type RouteTable } from './route.js';
import { matchRoute } from './route-template.js';
import { customReasonPhrase } from './reason-phrase.js';
import { sensitiveKeyTest } from './redact.js';
import { uiBaggage } from './ui-baggage.js';
import { getPath, parseSource } from './value-source.js';
import type { AuditLevel, AuditOutcome, AuditRequestInfo } from './types.js';

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function header(req: IncomingMessage | undefined, name: string): string | undefined {
  const v = req?.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function hrToMs(t: readonly [number, number]): number {
  return t[0] * 1000 + t[1] / 1e6;
}

/**
 * Derives the automatic audit fragment of an HTTP server span: route,
 * action, resource, actor, outcome, client, request parameters, level and
 * module, from the span's attributes and the captured request objects.
 */
export class Tagger {
  private readonly table: RouteTable;
  private readonly ignored: RuleTable<PathRule>;
  private readonly levels: RuleTable<KeyedRule<AuditLevel>>;
  private readonly modules: RuleTable<KeyedRule<string>>;
  private readonly responseRules: boolean;
  private readonly isStatic: (path: string) => boolean;
  private readonly redact: (value: unknown) => unknown;
  private readonly isSensitive: (key: string) => boolean;
  private readonly trusted: TrustedProxies;
  private hookErrors = 0;
  private readonly ops = new BoundedCache<Operation>({ maxBytes: 256 * 1024, maxKeyLength: 4096, valueBytes: (o) => 64 + 2 * (o.action.length + o.resourceType.length + (o.resourceId?.length ?? 0)) });
  private readonly peers = new Map<string, string | undefined>();

  constructor(private readonly config: ResolvedAuditConfig) {
    this.table = compileRouteTable(config.routes);
    this.ignored = compileSubtreeRules(config.ignore);
    this.levels = compileKeyedRules(config.levels);
    this.modules = compileKeyedRules(config.modules);
    this.isStatic = createStaticTest(config.staticExtensions);
    this.responseRules = config.routes.some((r) => typeof r?.resourceId === 'string' && r.resourceId.startsWith('response:'));
    this.redact = createRedactor(config.redactKeys, { maxBytes: config.maxValueBytes });
    this.isSensitive = sensitiveKeyTest(config.redactKeys);
    this.trusted = parseTrustedProxies(config.trustedProxies);
    if (this.trusted.invalid.length > 0) {
      diag.warn(`otel-audit: ignoring invalid trusted proxies: ${this.trusted.invalid.join(', ')}`);
    }
  }

  /** Sanitise and cap a value the way request parameters are. */
  sanitize(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    return capJson(this.redact(value), this.config.maxValueBytes);
  }

  /** True when the response body of this request must be kept (a rule takes the resource id from it). */
  wantsResponseBody(method: string, path: string): boolean {
    // Runs for every response: most tables have no such rule, and then nothing is looked up.
    if (!this.responseRules) return false;
    const m = this.table.match(method, path);
    return m?.rule.resourceId?.startsWith('response:') === true;
  }

  /**
   * Fragment of a server span, or undefined when the route is ignored.
   * `inFlight`: the span has not ended (the request is still running at a
   * timeout or shutdown). A request that is still running, or whose
   * connection closed before its response was complete, is never a
   * success: its outcome is `failure` (unless it was denied), it is marked
   * incomplete (and aborted), and a status code that was never sent is left
   * out.
   */
  tag(span: ReadableSpan, captured: CapturedRequest | undefined, inFlight = false): AuditFragment | undefined {
    const attrs: Attributes = span.attributes;
    const req = captured?.req;
    const method = (str(attrs['http.request.method']) ?? str(attrs['http.method']) ?? req?.method ?? 'GET').toUpperCase();
    const rawUrl = req?.url ?? str(attrs['url.path']) ?? str(attrs['http.target']) ?? '/';
    const path = str(attrs['url.path']) ?? rawUrl.split('?')[0] ?? '/';
    const httpRoute = str(attrs['http.route']);
    const match = this.table.match(method, httpRoute === undefined ? path : [httpRoute, path]);
    const route = httpRoute ?? match?.template ?? templatePath(path);
    const rule: RouteRule | undefined = match?.rule;
    // A route rule matching the request names it: it is audited even when it is a preflight or a file.
    if (rule === undefined && this.quiet(method, path, req)) return undefined;
    const level = this.levelOf(method, rule, path, route);
    if (level === 'ignore') return undefined;

    const framework = captured?.framework;
    const fw = (key: string): unknown => (framework ? framework[key] : (req as unknown as Record<string, unknown> | undefined)?.[key]);
    // The body as sent when it was copied at parse time; a handler's changes belong to `after`.
    const body = captured?.sent?.taken === true ? captured.sent.value : fw(captured?.bodyKey ?? 'body');
    const query = parseQuery(rawUrl);
    const params = matchRoute(route, path) ?? {};
    const res = captured?.res;
    // The response is complete once its last byte was handed to the socket.
    const aborted = !inFlight && res !== undefined && !res.writableFinished;
    const unfinished = inFlight || aborted;
    const statusSent = !unfinished || res?.headersSent === true;
    const statusCode = !statusSent
      ? undefined
      : typeof attrs['http.response.status_code'] === 'number'
        ? attrs['http.response.status_code']
        : typeof attrs['http.status_code'] === 'number'
          ? attrs['http.status_code']
          : res?.statusCode;

    const op = this.operation(method, route, params);
    const info: AuditRequestInfo | undefined = req
      ? { req, request: framework ?? req, method, path, route, headers: req.headers, body, query, params }
      : undefined;
    const resourceId = this.resourceId(rule, info, captured) ?? op.resourceId;
    const { actor, tenant, attempted } = this.actorOf(rule, info);
    const judged = this.outcomeOf(span, statusCode);
    const outcome: AuditOutcome = unfinished && judged.outcome === 'success' ? 'failure' : judged.outcome;
    // Frameworks that answer errors themselves (Koa, Hono) leave no exception on the server span.
    const error = judged.error ?? (outcome === 'failure' ? (captured?.error ?? customReasonPhrase(res)) : undefined);

    const holds = levelContents(level);
    let request: string | undefined;
    if (holds.body) request = this.sanitize(compactRequest(query, bodyForRecord(body, rule?.captureText ?? this.config.captureTextBodies, { keys: this.config.redactKeys, maxLength: this.config.maxValueBytes }, req?.headers['content-length'])));
    else if (holds.request) request = this.sanitize(compactRequest(query, undefined));

    const ua = header(req, 'user-agent') ?? str(attrs['user_agent.original']);
    // The click that caused the call, as the page's baggage tells it; a level without details holds none.
    const ui = holds.details ? uiBaggage(req?.headers.baggage, this.isSensitive) : undefined;
    const clientAddress = this.clientOf(req, attrs);
    return {
      source: 'auto',
      action: rule?.action ?? op.action,
      resourceType: rule?.resourceType ?? op.resourceType,
      ...(resourceId !== undefined ? { resourceId } : {}),
      actor,
      ...(tenant !== undefined ? { tenant } : {}),
      outcome,
      ...(error !== undefined ? { error } : {}),
      module: rule?.module ?? this.modules.match(method, [route, path])?.rule.value ?? this.config.defaultModule,
      level,
      ...(request !== undefined ? { request } : {}),
      ...(ui !== undefined ? { ui } : {}),
      http: {
        method,
        route,
        path,
        ...(statusCode !== undefined ? { statusCode } : {}),
        ...(clientAddress !== undefined ? { clientAddress } : {}),
        ...(ua !== undefined ? { userAgent: ua } : {}),
      },
      spanId: span.spanContext().spanId,
      traceFlags: span.spanContext().traceFlags,
      startMs: hrToMs(span.startTime),
      startNs: (BigInt(span.startTime[0]) * 1_000_000_000n + BigInt(span.startTime[1])).toString(),
      durationMs: Math.round((inFlight ? Date.now() - hrToMs(span.startTime) : hrToMs(span.duration)) * 1000) / 1000,
      ...(attempted ? { attemptedPrincipal: true } : {}),
      ...(unfinished ? { incomplete: true } : {}),
      ...(aborted ? { aborted: true } : {}),
    };
  }

  /**
   * deriveOperation per (method, route) is cached: a service has few routes.
   * The cached form is derived with placeholder params (NUL + name), which
   * are then replaced by the request's own values.
   */
  private operation(method: string, route: string, params: Record<string, string>): Operation {
    const key = `${method} ${route}`;
    let cached = this.ops.get(key);
    if (!cached) {
      const names = matchRoute(route, route) ?? {};
      const placeholders: Record<string, string> = {};
      for (const name of Object.keys(names)) placeholders[name] = `\u0000${name}\u0000`;
      cached = deriveOperation(method, route, placeholders);
      this.ops.set(key, cached);
    }
    if (cached.resourceId === undefined || !cached.resourceId.includes('\u0000')) return cached;
    let resourceId = '';
    cached.resourceId.split('\u0000').forEach((part, i) => {
      resourceId += i % 2 === 1 ? (params[part] ?? '') : part;
    });
    return { action: cached.action, resourceType: cached.resourceType, resourceId };
  }

  /** A CORS preflight or a static file that the configuration leaves unaudited. */
  private quiet(method: string, path: string, req: IncomingMessage | undefined): boolean {
    return (!this.config.auditPreflight && isPreflight(method, req?.headers)) || this.isStatic(path);
  }

  /** The route rule's level, else `ignore` for an ignored path, else the level of `levels`, else the default. */
  private levelOf(method: string, rule: RouteRule | undefined, path: string, route: string): AuditLevel {
    if (rule?.level) return rule.level;
    if (this.ignored.match(method, [route, path])) return 'ignore';
    return this.levels.match(method, [route, path])?.rule.value ?? this.config.defaultLevel;
  }

  private resourceId(rule: RouteRule | undefined, info: AuditRequestInfo | undefined, captured: CapturedRequest | undefined): string | undefined {
    const spec = rule?.resourceId ? parseSource(rule.resourceId) : undefined;
    if (!spec || !info) return undefined;
    switch (spec.from) {
      case 'param':
        return str(info.params[spec.path]);
      case 'query': {
        const v = info.query[spec.path];
        return str(Array.isArray(v) ? v[0] : v);
      }
      case 'header':
        return header(info.req, spec.path.toLowerCase());
      case 'body':
        return str(getPath(info.body, spec.path));
      case 'response': {
        const chunks = captured?.responseChunks;
        if (!chunks || chunks.length === 0) return undefined;
        try {
          return str(getPath(JSON.parse(Buffer.concat(chunks).toString('utf8')), spec.path));
        } catch {
          return undefined;
        }
      }
    }
  }

  private actorOf(rule: RouteRule | undefined, info: AuditRequestInfo | undefined): { actor: Actor; tenant?: string; attempted?: boolean } {
    const anonymous: Actor = { type: 'anonymous' };
    if (!info) return { actor: anonymous };
    const tenantHeader = this.config.tenantHeader ? header(info.req, this.config.tenantHeader) : undefined;
    const withTenant = (r: { actor: Actor; tenant?: string }): { actor: Actor; tenant?: string } => {
      const tenant = r.tenant ?? tenantHeader;
      return tenant !== undefined ? { actor: r.actor, tenant } : { actor: r.actor };
    };
    if (this.config.actor) {
      try {
        const result = this.config.actor(info);
        const actor = normalizeActor(result);
        if (actor) {
          const tenant = result !== null && typeof result === 'object' ? str(result.tenant) : undefined;
          return withTenant(tenant !== undefined ? { actor, tenant } : { actor });
        }
      } catch (err) {
        this.hookErrors++;
        if (this.hookErrors === 1) diag.error('otel-audit: the actor hook threw; falling back (reported once)', err);
      }
    }
    const user = actorFromUser((info.request as Record<string, unknown>)['user'] ?? (info.req as unknown as Record<string, unknown>)['user']);
    if (user) return withTenant(user);
    const claims = decodeJwtClaims(header(info.req, 'authorization'));
    if (claims) {
      const fromJwt = actorFromClaims(claims, this.config.jwtClaims);
      if (fromJwt) return withTenant(fromJwt);
    }
    if (this.config.actorHeader) {
      const id = header(info.req, this.config.actorHeader);
      if (id) return withTenant({ actor: { id, type: 'user' } });
    }
    const principalSpec = rule?.principal ? parseSource(rule.principal) : undefined;
    if (principalSpec) {
      const src = principalSpec.from === 'body' ? info.body : principalSpec.from === 'query' ? info.query : principalSpec.from === 'param' ? info.params : undefined;
      const principal = str(getPath(src, principalSpec.path));
      if (principal) return { ...withTenant({ actor: { id: principal, name: principal, type: 'user' } }), attempted: true };
    }
    return withTenant({ actor: anonymous });
  }

  private outcomeOf(span: ReadableSpan, statusCode: number | undefined): { outcome: AuditOutcome; error?: string } {
    const exception = span.events.find((e) => e.name === 'exception');
    const outcome = outcomeOf(statusCode, exception !== undefined || span.status.code === SpanStatusCode.ERROR);
    if (outcome !== 'failure') return { outcome };
    const error = str(exception?.attributes?.['exception.message']) ?? str(span.status.message);
    return error !== undefined ? { outcome, error } : { outcome };
  }

  private clientOf(req: IncomingMessage | undefined, attrs: Attributes): string | undefined {
    if (!req) return str(attrs['network.peer.address']);
    const remote = req.socket?.remoteAddress;
    if (this.trusted.all || this.trusted.ranges.length > 0 || remote === undefined) {
      return resolveClientAddress(remote, req.headers['x-forwarded-for'], this.trusted);
    }
    // No trusted proxies: the peer itself, normalised once per distinct peer.
    if (this.peers.has(remote)) return this.peers.get(remote);
    const out = resolveClientAddress(remote, undefined, this.trusted);
    if (this.peers.size >= 1000) this.peers.clear();
    this.peers.set(remote, out);
    return out;
  }
}

function compactRequest(query: Record<string, string | string[]>, body: unknown): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (Object.keys(query).length > 0) out['query'] = query;
  if (body !== undefined && body !== null && !(typeof body === 'string' && body.length === 0)) out['body'] = body;
  return Object.keys(out).length > 0 ? out : undefined;
}
