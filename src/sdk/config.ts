import { diag } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { LEVEL_RULES } from '../contract/values.js';
import type { ActorResolver, AuditLevel, AuditOptions } from './types.js';
import { envText, type Env } from './env.js';
import type { RouteRule } from './route.js';
import { DEFAULT_STATIC_EXTENSIONS, normalizeExtensions } from './quiet-requests.js';

/**
 * Time given to delivery at shutdown, ms: under the 30 s that Kubernetes
 * waits between SIGTERM and SIGKILL by default, with room for the rest of
 * the app's shutdown.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/** Paths never recorded unless the user's ignore list replaces them. */
export const DEFAULT_IGNORE = ['/healthz', '/readyz', '/metrics', '/favicon.ico'];

/** Every option filled in: what the SDK runs with. */
export interface ResolvedAuditConfig {
  actor: ActorResolver | undefined;
  routes: RouteRule[];
  redactKeys: string[];
  levels: Record<string, AuditLevel>;
  defaultLevel: AuditLevel;
  ignore: string[];
  auditPreflight: boolean;
  staticExtensions: string[];
  modules: Record<string, string>;
  defaultModule: string;
  actorHeader: string | undefined;
  tenantHeader: string | undefined;
  jwtClaims: { id: string; name: string; type?: string; tenant: string };
  trustedProxies: string[];
  maxValueBytes: number;
  captureTextBodies: boolean;
  exporter: 'otlp' | 'console' | 'none';
  endpoint: string;
  exportTimeoutMs: number;
  queueSize: number;
  batchSize: number;
  exportDelayMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  graceMs: number;
  traceTimeoutMs: number;
  maxOpenTraces: number;
  shutdownTimeoutMs: number;
}


function num(env: Env, name: string, fallback: number, min = 0): number {
  const raw = envText(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    diag.warn(`otel-audit: ${name}=${raw} is not a number >= ${min}; using ${fallback}`);
    return fallback;
  }
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = envText(env, name);
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  diag.warn(`otel-audit: ${name}=${raw} is not true or false; using ${fallback}`);
  return fallback;
}

/** `a, b ,c` → ['a','b','c']. */
export function parseList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `k=v,k2=v2` → { k: 'v', k2: 'v2' }. Entries without `=` are reported and skipped. */
export function parseMap(raw: string | undefined, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of parseList(raw)) {
    const eq = entry.lastIndexOf('=');
    if (eq <= 0 || eq === entry.length - 1) {
      diag.warn(`otel-audit: ignoring "${entry}" in ${name}: expected key=value`);
      continue;
    }
    out[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return out;
}

function parseLevel(raw: string | undefined, name: string): AuditLevel | undefined {
  if (raw === undefined) return undefined;
  const v = raw.toLowerCase();
  if ((LEVEL_RULES as readonly string[]).includes(v)) return v as AuditLevel;
  diag.warn(`otel-audit: ${name}="${raw}" is not one of ${LEVEL_RULES.join(', ')}`);
  return undefined;
}

function parseLevels(raw: string | undefined): Record<string, AuditLevel> {
  const out: Record<string, AuditLevel> = {};
  for (const [k, v] of Object.entries(parseMap(raw, 'OTEL_AUDIT_LEVELS'))) {
    const level = parseLevel(v, `OTEL_AUDIT_LEVELS[${k}]`);
    if (level) out[k] = level;
  }
  return out;
}

/**
 * The endpoint audit records go to when none is configured: the one the
 * OpenTelemetry SDK would use for logs over gRPC.
 */
export function defaultAuditEndpoint(env: Env): string {
  return (
    envText(env, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') ?? envText(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? 'http://localhost:4317'
  );
}

/**
 * Load the config module named by `OTEL_AUDIT_CONFIG` synchronously
 * (CommonJS, or ESM without top-level await), so that the SDK is configured
 * before the application's first request. Its default export, or the module
 * itself, is an {@link AuditOptions} object or a function returning one.
 */
export function loadConfigModule(path: string, cwd = process.cwd()): AuditOptions {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const req = createRequire(resolve(cwd, 'noop.js'));
  const mod: unknown = req(abs);
  let value: unknown = mod;
  if (value !== null && typeof value === 'object' && 'default' in value) {
    value = (value as { default: unknown }).default;
  }
  if (typeof value === 'function') value = (value as () => unknown)();
  if (value === null || typeof value !== 'object') {
    throw new Error(`OTEL_AUDIT_CONFIG module ${abs} must export an options object`);
  }
  return value as AuditOptions;
}

/** Merge options (which win) over environment variables over defaults. */
export function resolveConfig(options: AuditOptions = {}, env: Env = process.env): ResolvedAuditConfig {
  const claims = parseMap(envText(env, 'OTEL_AUDIT_JWT_CLAIMS'), 'OTEL_AUDIT_JWT_CLAIMS');
  const exporterRaw = options.exporter ?? envText(env, 'OTEL_AUDIT_EXPORTER') ?? 'otlp';
  const exporter = exporterRaw === 'console' || exporterRaw === 'none' ? exporterRaw : 'otlp';
  if (exporterRaw !== exporter) diag.warn(`otel-audit: unknown OTEL_AUDIT_EXPORTER "${exporterRaw}", using otlp`);
  const envIgnore = envText(env, 'OTEL_AUDIT_IGNORE');
  // Unlike other variables, set but blank means something: no extension is static.
  const envStatic = env['OTEL_AUDIT_STATIC_EXTENSIONS'];
  return {
    actor: options.actor,
    routes: options.routes ?? [],
    redactKeys: [...parseList(envText(env, 'OTEL_AUDIT_REDACT_KEYS')), ...(options.redactKeys ?? [])],
    levels: { ...parseLevels(envText(env, 'OTEL_AUDIT_LEVELS')), ...(options.levels ?? {}) },
    defaultLevel: options.defaultLevel ?? parseLevel(envText(env, 'OTEL_AUDIT_LEVEL'), 'OTEL_AUDIT_LEVEL') ?? 'full',
    ignore: options.ignore ?? (envIgnore !== undefined ? parseList(envIgnore) : DEFAULT_IGNORE),
    auditPreflight: options.auditPreflight ?? bool(env, 'OTEL_AUDIT_AUDIT_PREFLIGHT', false),
    staticExtensions: normalizeExtensions(options.staticExtensions ?? (envStatic !== undefined ? parseList(envStatic) : DEFAULT_STATIC_EXTENSIONS)),
    modules: { ...parseMap(envText(env, 'OTEL_AUDIT_MODULES'), 'OTEL_AUDIT_MODULES'), ...(options.modules ?? {}) },
    defaultModule: options.defaultModule ?? envText(env, 'OTEL_AUDIT_DEFAULT_MODULE') ?? 'core',
    actorHeader: (options.actorHeader ?? envText(env, 'OTEL_AUDIT_ACTOR_HEADER'))?.toLowerCase(),
    tenantHeader: (options.tenantHeader ?? envText(env, 'OTEL_AUDIT_TENANT_HEADER'))?.toLowerCase(),
    jwtClaims: {
      id: options.jwtClaims?.id ?? claims['id'] ?? 'sub',
      name: options.jwtClaims?.name ?? claims['name'] ?? 'preferred_username',
      tenant: options.jwtClaims?.tenant ?? claims['tenant'] ?? 'tenant_id',
      ...((options.jwtClaims?.type ?? claims['type']) !== undefined
        ? { type: options.jwtClaims?.type ?? claims['type'] }
        : {}),
    },
    trustedProxies: options.trustedProxies ?? parseList(envText(env, 'OTEL_AUDIT_TRUSTED_PROXIES')),
    // capJson needs room for its smallest marker; tiny caps are raised to 64 bytes.
    maxValueBytes: Math.max(64, options.maxValueBytes ?? num(env, 'OTEL_AUDIT_MAX_VALUE_BYTES', 4096, 64)),
    // Text bodies (form posts read as text, XML) carry credentials in forms the object redactor cannot see.
    captureTextBodies: options.captureTextBodies ?? bool(env, 'OTEL_AUDIT_CAPTURE_TEXT_BODIES', false),
    exporter,
    endpoint: options.endpoint ?? envText(env, 'OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT') ?? defaultAuditEndpoint(env),
    exportTimeoutMs: options.exportTimeoutMs ?? num(env, 'OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT', 10_000, 1),
    queueSize: options.queueSize ?? num(env, 'OTEL_AUDIT_QUEUE_SIZE', 10_000, 1),
    batchSize: options.batchSize ?? num(env, 'OTEL_AUDIT_BATCH_SIZE', 512, 1),
    exportDelayMs: options.exportDelayMs ?? num(env, 'OTEL_AUDIT_EXPORT_DELAY_MS', 200),
    retryInitialMs: options.retryInitialMs ?? num(env, 'OTEL_AUDIT_RETRY_INITIAL_MS', 500, 1),
    retryMaxMs: options.retryMaxMs ?? num(env, 'OTEL_AUDIT_RETRY_MAX_MS', 30_000, 1),
    spoolDir: resolve(options.spoolDir ?? envText(env, 'OTEL_AUDIT_SPOOL_DIR') ?? '.otel-audit/spool'),
    spoolMaxBytes: options.spoolMaxBytes ?? num(env, 'OTEL_AUDIT_SPOOL_MAX_BYTES', 100 * 1024 * 1024),
    graceMs: options.graceMs ?? num(env, 'OTEL_AUDIT_GRACE_MS', 500),
    traceTimeoutMs: options.traceTimeoutMs ?? num(env, 'OTEL_AUDIT_TRACE_TIMEOUT_MS', 300_000, 1),
    maxOpenTraces: options.maxOpenTraces ?? num(env, 'OTEL_AUDIT_MAX_OPEN_TRACES', 10_000, 1),
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? num(env, 'OTEL_AUDIT_SHUTDOWN_TIMEOUT_MS', DEFAULT_SHUTDOWN_TIMEOUT_MS),
  };
}
