import type { IncomingMessage } from 'node:http';
import type { LevelRule, Outcome } from '../contract/values.js';
import type { Actor } from './actor.js';
import type { RouteRule } from './route.js';

export type { Actor } from './actor.js';
export type { RouteRule } from './route.js';

/** How much a route records. `ignore` records nothing. */
export type AuditLevel = LevelRule;
export type AuditOutcome = Outcome;
export type AuditMetaValue = string | number | boolean;

/** What the request looked like, handed to the user's actor hook. */
export interface AuditRequestInfo {
  /** The raw Node.js request (express requests are the same object). */
  req: IncomingMessage;
  /** The framework's request object when one exists (fastify), else `req`. */
  request: unknown;
  method: string;
  path: string;
  route: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  query: Record<string, string | string[]>;
  params: Record<string, string>;
}

/** Result of an actor hook: an actor, an actor id, or nothing (fall through). */
export type ActorHookResult =
  | (Partial<Actor> & { id?: string; tenant?: string })
  | string
  | undefined
  | null;

/** User hook resolving the actor of a request. Runs guarded: a throw is logged once, the request is unaffected. */
export type ActorResolver = (info: AuditRequestInfo) => ActorHookResult;

/**
 * Options of {@link startAudit} and of the config module named by
 * `OTEL_AUDIT_CONFIG` (its default export, or the module itself).
 * Every option also has an environment variable; the option wins.
 */
export interface AuditOptions {
  /** Resolve the actor of a request. Default: none (req.user, JWT, header, anonymous follow). */
  actor?: ActorResolver;
  /** Route table: actions, resource ids, principals, levels and modules per route. Default: []. */
  routes?: RouteRule[];
  /** Extra keys to redact, on top of the built-in list. Env `OTEL_AUDIT_REDACT_KEYS`. Default: []. */
  redactKeys?: string[];
  /** Level per route or prefix (`/admin/*`). Env `OTEL_AUDIT_LEVELS`. Default: {}. */
  levels?: Record<string, AuditLevel>;
  /** Level of routes with no rule. Env `OTEL_AUDIT_LEVEL`. Default: `full`. */
  defaultLevel?: AuditLevel;
  /** Paths or prefixes never recorded. Env `OTEL_AUDIT_IGNORE`. Default: /healthz, /readyz, /metrics, /favicon.ico. */
  ignore?: string[];
  /** Record CORS preflights (`OPTIONS` with `Access-Control-Request-Method`). Env `OTEL_AUDIT_AUDIT_PREFLIGHT`. Default: false. */
  auditPreflight?: boolean;
  /**
   * Extensions of static files whose requests are not recorded, by the last
   * path segment (`/app.js`). Empty = static files are recorded. A route rule
   * matching the path wins. Env `OTEL_AUDIT_STATIC_EXTENSIONS` (set but blank =
   * empty). Default: `DEFAULT_STATIC_EXTENSIONS` (scripts, styles, source
   * maps, images, fonts, media; not json, xml, csv, html, txt, pdf).
   */
  staticExtensions?: string[];
  /** Module per route prefix (`/api/jenkins/*` → `jenkins`). Env `OTEL_AUDIT_MODULES`. Default: {}. */
  modules?: Record<string, string>;
  /** Module of routes with no rule. Env `OTEL_AUDIT_DEFAULT_MODULE`. Default: `core`. */
  defaultModule?: string;
  /** Header carrying the actor id. Env `OTEL_AUDIT_ACTOR_HEADER`. Default: none. */
  actorHeader?: string;
  /** Header carrying the tenant id. Env `OTEL_AUDIT_TENANT_HEADER`. Default: none. */
  tenantHeader?: string;
  /** JWT claim names. Env `OTEL_AUDIT_JWT_CLAIMS` (`id=sub,name=preferred_username,tenant=tenant_id`). */
  jwtClaims?: { id?: string; name?: string; type?: string; tenant?: string };
  /** Proxies whose X-Forwarded-For is believed. Env `OTEL_AUDIT_TRUSTED_PROXIES`. Default: none. */
  trustedProxies?: string[];
  /** Cap of every recorded value (request, change, meta, path, route, ids, names, user agent, error message), UTF-8 bytes. Env `OTEL_AUDIT_MAX_VALUE_BYTES`. Default: 4096. */
  maxValueBytes?: number;
  /**
   * Record request bodies that arrive as text (`text/plain`, XML, any body the
   * framework leaves as a string), cut to `maxValueBytes` with the values of
   * redacted keys in `key=value` pairs and XML elements replaced. A route
   * rule's `captureText` overrides it. Otherwise such a body is recorded as
   * `[text body: N chars]`. Env `OTEL_AUDIT_CAPTURE_TEXT_BODIES`. Default: false.
   */
  captureTextBodies?: boolean;
  /** Where records go: `otlp`, `console` or `none`. Env `OTEL_AUDIT_EXPORTER`. Default: `otlp`. */
  exporter?: 'otlp' | 'console' | 'none';
  /** OTLP/gRPC endpoint of audit records. Env `OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT`. Default: the SDK's logs endpoint. */
  endpoint?: string;
  /** Timeout of one export call, ms. Env `OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT`. Default: 10000. */
  exportTimeoutMs?: number;
  /** Records held in memory before spooling to disk. Env `OTEL_AUDIT_QUEUE_SIZE`. Default: 10000. */
  queueSize?: number;
  /** Records per export call. Env `OTEL_AUDIT_BATCH_SIZE`. Default: 512. */
  batchSize?: number;
  /** Delay before a partial batch is sent, ms. Env `OTEL_AUDIT_EXPORT_DELAY_MS`. Default: 200. */
  exportDelayMs?: number;
  /** First retry delay, ms (doubles up to `retryMaxMs`, with jitter). Env `OTEL_AUDIT_RETRY_INITIAL_MS`. Default: 500. */
  retryInitialMs?: number;
  /** Longest retry delay, ms. Env `OTEL_AUDIT_RETRY_MAX_MS`. Default: 30000. */
  retryMaxMs?: number;
  /** Spool directory. Env `OTEL_AUDIT_SPOOL_DIR`. Default: `./.otel-audit/spool`. */
  spoolDir?: string;
  /** Spool size bound, bytes; past it records are dropped and counted. Env `OTEL_AUDIT_SPOOL_MAX_BYTES`. Default: 104857600. */
  spoolMaxBytes?: number;
  /** Wait for child spans after the local root span ends, ms. Env `OTEL_AUDIT_GRACE_MS`. Default: 500. */
  graceMs?: number;
  /** An operation still open after this long is recorded as it stands with `audit.incomplete` (a request still running: outcome `failure`, no status code), ms. Env `OTEL_AUDIT_TRACE_TIMEOUT_MS`. Default: 300000. */
  traceTimeoutMs?: number;
  /** Open operations (requests in flight or waiting for their last spans) held at most; past it the oldest is flushed early, marked incomplete. Env `OTEL_AUDIT_MAX_OPEN_TRACES`. Default: 10000. */
  maxOpenTraces?: number;
  /**
   * Time given to delivery at shutdown (SIGTERM, SIGINT, `beforeExit`), ms:
   * the memory queue and the spool are sent, retrying at once, and only what
   * is left at the end goes to (or stays in) the spool. Keep it under the
   * platform's grace period (Kubernetes: 30 s). Env
   * `OTEL_AUDIT_SHUTDOWN_TIMEOUT_MS`. Default: 25000.
   */
  shutdownTimeoutMs?: number;
}

/** An id or name as the manual API takes it; recorded as text (numbers and bigints in decimal, Dates as ISO 8601). */
export type AuditIdValue = string | number | bigint | Date;

/** A meta value as the manual API takes it; bigints become decimal strings and Dates ISO 8601 strings. */
export type AuditMetaInput = AuditMetaValue | bigint | Date;

/** The actor as the manual API takes it. */
export interface AuditActorInput {
  id?: AuditIdValue;
  name?: AuditIdValue;
  /** Default: `user`. */
  type?: Actor['type'];
}

/** Input of `audit.record()`. */
export interface AuditRecordInput {
  action: string;
  resource?: { type?: string; id?: AuditIdValue };
  actor?: AuditActorInput;
  tenant?: AuditIdValue;
  outcome?: AuditOutcome;
  before?: unknown;
  after?: unknown;
  meta?: Record<string, AuditMetaInput>;
}

/** Input of `audit.set()`: enriches the current operation's record, never creates one. */
export interface AuditSetInput {
  actor?: AuditActorInput;
  tenant?: AuditIdValue;
  resource?: { type?: string; id?: AuditIdValue };
  outcome?: AuditOutcome;
  before?: unknown;
  after?: unknown;
  meta?: Record<string, AuditMetaInput>;
}
