/**
 * Known audit records for the dashboard tests: three services, four modules
 * (one record without a module), two tenants (and none), users, a service
 * actor and an anonymous caller, every outcome, per-module fields in the
 * attributes column, and two records outside the tested time range.
 */
import type pg from 'pg';

export interface SeedRecord {
  at: string;
  service: string;
  module: string | null;
  tenant: string | null;
  actor: { id: string | null; name: string | null; type: 'user' | 'service' | 'anonymous' };
  action: string;
  resource: [string | null, string | null];
  outcome: 'success' | 'failure' | 'denied';
  status: number | null;
  method?: string;
  route?: string;
  path?: string;
  ip?: string;
  userAgent?: string;
  durationMs?: number;
  level?: string;
  request?: unknown;
  before?: unknown;
  after?: unknown;
  attributes?: Record<string, unknown>;
  emitter?: [string, number];
}

/** The tested time range: 2026-05-04 09:00 to 13:00 UTC; `interval` 1h gives the buckets 10:00, 11:00, 12:00. */
export const RANGE = { from: new Date('2026-05-04T09:00:00Z'), to: new Date('2026-05-04T13:00:00Z') };
export const HOUR = (h: number): number => Date.parse(`2026-05-04T${String(h).padStart(2, '0')}:00:00Z`) / 1000;

/** Attributes the sink puts in every row (resource and scope), which are nobody's module fields. */
const SDK = { resource: { 'host.name': 'web-1', 'process.pid': 4242 }, scope: { name: 'otel-audit', version: '0.1.0' } };

const alice = { id: 'u-1', name: 'alice', type: 'user' } as const;
const bob = { id: 'u-2', name: 'bob', type: 'user' } as const;
const dave = { id: 'u-3', name: 'dave', type: 'user' } as const;
const ciBot = { id: 'ci-bot', name: null, type: 'service' } as const;
const anonymous = { id: null, name: null, type: 'anonymous' } as const;

/** Records 1..12 in insertion (so id) order. */
export const SEEDS: SeedRecord[] = [
  {
    at: '2026-05-04T10:05:00Z', service: 'demo-api', module: 'core', tenant: 'acme', actor: alice, action: 'user.create',
    resource: ['user', '3'], outcome: 'success', status: 201, method: 'POST', route: '/users', path: '/users', ip: '10.0.0.1',
    userAgent: 'curl/8.5.0', durationMs: 12.5, level: 'full', request: { body: { name: 'carol', password: '[redacted]' } },
    after: { name: 'carol', role: 'viewer' }, attributes: SDK, emitter: ['e-1', 1],
  },
  {
    at: '2026-05-04T10:10:00Z', service: 'demo-api', module: 'core', tenant: 'acme', actor: alice, action: 'user.update',
    resource: ['user', '3'], outcome: 'success', status: 200, method: 'PUT', route: '/users/:id', path: '/users/3', ip: '10.0.0.1',
    durationMs: 8, level: 'full', request: { body: { role: 'admin', team: 'ops' } },
    before: { name: 'carol', role: 'viewer' }, after: { name: 'carol', role: 'admin', team: 'ops' },
    attributes: { ...SDK, 'audit.meta.reason': 'promotion' }, emitter: ['e-1', 2],
  },
  {
    at: '2026-05-04T10:20:00Z', service: 'demo-api', module: 'user_auth', tenant: 'acme', actor: anonymous, action: 'session.create',
    resource: ['session', null], outcome: 'denied', status: 401, method: 'POST', route: '/sessions', path: '/sessions', ip: '203.0.113.9',
    attributes: { ...SDK, 'audit.meta.attempted_principal': 'mallory', 'audit.meta.mfa': false }, emitter: ['e-1', 3],
  },
  {
    at: '2026-05-04T10:25:00Z', service: 'demo-api', module: 'user_auth', tenant: 'acme', actor: alice, action: 'session.create',
    resource: ['session', 's-1'], outcome: 'success', status: 201, method: 'POST', path: '/sessions',
    attributes: { ...SDK, 'audit.meta.mfa': true, 'audit.meta.method': 'password' }, emitter: ['e-1', 4],
  },
  {
    at: '2026-05-04T10:40:00Z', service: 'billing', module: 'core', tenant: 'globex', actor: bob, action: 'invoice.pay',
    resource: ['invoice', 'INV-7'], outcome: 'failure', status: 500, method: 'POST', path: '/invoices/INV-7/pay', ip: '2001:db8::7',
    attributes: { ...SDK, 'audit.error.message': 'card declined' },
  },
  {
    at: '2026-05-04T11:05:00Z', service: 'ci', module: 'jenkins', tenant: 'globex', actor: ciBot, action: 'build.trigger',
    resource: ['build', '17'], outcome: 'success', status: 201,
    attributes: { ...SDK, 'audit.meta.job': 'deploy-api', 'audit.meta.build_number': 17, 'audit.meta.branch': 'main' },
  },
  {
    at: '2026-05-04T11:15:00Z', service: 'ci', module: 'jenkins', tenant: 'globex', actor: bob, action: 'build.cancel',
    resource: ['build', '17'], outcome: 'denied', status: 403,
    attributes: { ...SDK, 'audit.meta.job': 'deploy-api', 'audit.meta.build_number': 17 },
  },
  {
    at: '2026-05-04T11:30:00Z', service: 'ci', module: 'jenkins', tenant: null, actor: ciBot, action: 'build.trigger',
    resource: ['build', '18'], outcome: 'success', status: 201,
    attributes: { ...SDK, 'audit.meta.job': 'nightly', 'audit.meta.build_number': 18, 'audit.meta.branch': 'main' },
  },
  {
    at: '2026-05-04T11:50:00Z', service: 'demo-api', module: 'core', tenant: 'acme', actor: alice, action: 'user.delete',
    resource: ['user', '3'], outcome: 'success', status: 204, method: 'DELETE', path: '/users/3',
    before: { name: 'carol', role: 'admin', team: 'ops' }, attributes: SDK, emitter: ['e-1', 5],
  },
  {
    // A span from a service in another language: no module, no tenant, a custom attribute.
    at: '2026-05-04T12:10:00Z', service: 'demo-api', module: null, tenant: null, actor: dave, action: 'report.export',
    resource: ['report', "q2'26"], outcome: 'success', status: 200, before: [1, 2], after: [1, 2, 3],
    attributes: { 'custom.format': 'csv' },
  },
  {
    at: '2026-05-04T08:30:00Z', service: 'demo-api', module: 'core', tenant: 'acme', actor: alice, action: 'user.read',
    resource: ['user', '3'], outcome: 'success', status: 200, attributes: SDK,
  },
  {
    at: '2026-05-04T13:30:00Z', service: 'late', module: 'jenkins', tenant: 'initech', actor: ciBot, action: 'build.trigger',
    resource: ['build', '19'], outcome: 'failure', status: 500, attributes: { ...SDK, 'audit.meta.job': 'late' },
  },
];

/** Trace id of seed n (1-based). */
export function traceOf(n: number): string {
  return `4bf92f3577b34da6a3ce929d0e0e${n.toString(16).padStart(4, '0')}`;
}

export function spanOf(n: number): string {
  return `00f067aa0ba9${n.toString(16).padStart(4, '0')}`;
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** Inserts SEEDS as the table owner; returns their ids, in order. */
export async function insertSeeds(owner: pg.Client): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, r] of SEEDS.entries()) {
    const res = await owner.query<{ id: number }>(
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type,
         tenant_id, action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path,
         client_ip, user_agent, duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
               $22::jsonb, $23::jsonb, $24::jsonb, $25::jsonb, $26, $27)
       RETURNING id`,
      [
        traceOf(i + 1), spanOf(i + 1), r.at, r.service, r.module, r.actor.id, r.actor.name, r.actor.type,
        r.tenant, r.action, r.resource[0], r.resource[1], r.outcome, r.status, r.method ?? null, r.route ?? null, r.path ?? null,
        r.ip ?? null, r.userAgent ?? null, r.durationMs ?? null, r.level ?? null,
        json(r.request), json(r.before), json(r.after), json(r.attributes ?? {}), r.emitter?.[0] ?? null, r.emitter?.[1] ?? null,
      ],
    );
    ids.push((res.rows[0] as { id: number }).id);
  }
  return ids;
}
