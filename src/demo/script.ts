/**
 * The scripted requests of `otel-audit demo`, as data: what is sent to the
 * example service (`examples/express-app/server.js`) and the audit row each
 * request must produce. Anything that drives the example service can reuse
 * them: {@link runScript} sends them, {@link checkRows} compares the rows a
 * database holds with what the script expects.
 *
 * Every request carries a W3C `traceparent` with a fresh trace id, so the
 * server span joins that trace and the audit row of the request is found by
 * `trace_id`.
 */
import { randomBytes } from 'node:crypto';

export type Outcome = 'success' | 'failure' | 'denied';

/** The audit row a request produces (columns of `audit.records`). */
export interface ExpectedRow {
  action: string;
  outcome: Outcome;
  resourceType: string;
  /**
   * `resource_id`: an exact value, `{name}` for a value captured by an
   * earlier step (see {@link DemoStep.capture}), or `null` when the record
   * names no resource id.
   */
  resourceId: string | null;
  /** `actor_id`; `null` for an anonymous caller (`actor_type` `anonymous`). */
  actorId: string | null;
  /** `status_code`: the HTTP status of the response. */
  statusCode: number;
}

/** One scripted request. */
export interface DemoStep {
  /** What the step does, in a few words. */
  description: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Request path; `{name}` is replaced by a value captured by an earlier step. */
  path: string;
  headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  /** Values to remember from the JSON response: name → top-level key. */
  capture?: Readonly<Record<string, string>>;
  /** The audit row this request produces, or `null` when it is not audited. */
  expect: ExpectedRow | null;
}

/** A bearer token the example service accepts: `user:<id>` names the caller. */
const AS_ALICE = { authorization: 'Bearer user:1' } as const; // alice, the administrator
const AS_BOB = { authorization: 'Bearer user:2' } as const; // bob, not an administrator

/** The demo's requests, in order. */
export const DEMO_STEPS: readonly DemoStep[] = [
  {
    description: 'create a user',
    method: 'POST',
    path: '/users',
    headers: AS_ALICE,
    body: { name: 'carol' },
    capture: { userId: 'id' },
    expect: { action: 'user.create', outcome: 'success', resourceType: 'user', resourceId: '{userId}', actorId: '1', statusCode: 201 },
  },
  {
    description: 'read it',
    method: 'GET',
    path: '/users/{userId}',
    expect: { action: 'user.read', outcome: 'success', resourceType: 'user', resourceId: '{userId}', actorId: null, statusCode: 200 },
  },
  {
    description: 'update it',
    method: 'PUT',
    path: '/users/{userId}',
    headers: AS_ALICE,
    body: { name: 'carol smith' },
    expect: { action: 'user.update', outcome: 'success', resourceType: 'user', resourceId: '{userId}', actorId: '1', statusCode: 200 },
  },
  {
    description: 'delete it',
    method: 'DELETE',
    path: '/users/{userId}',
    headers: AS_ALICE,
    expect: { action: 'user.delete', outcome: 'success', resourceType: 'user', resourceId: '{userId}', actorId: '1', statusCode: 204 },
  },
  {
    description: 'log in with a wrong password',
    method: 'POST',
    path: '/sessions',
    body: { username: 'alice', password: 'wrong' },
    expect: { action: 'session.create', outcome: 'denied', resourceType: 'session', resourceId: null, actorId: null, statusCode: 401 },
  },
  {
    description: 'log in (the handler calls audit.record)',
    method: 'POST',
    path: '/sessions',
    body: { username: 'alice', password: 'secret' },
    capture: { sessionId: 'sessionId' },
    expect: { action: 'session.create', outcome: 'success', resourceType: 'session', resourceId: '{sessionId}', actorId: '1', statusCode: 201 },
  },
  {
    description: 'an admin call by a non-admin',
    method: 'POST',
    path: '/admin/reindex',
    headers: AS_BOB,
    expect: { action: 'reindex.create', outcome: 'denied', resourceType: 'reindex', resourceId: null, actorId: '2', statusCode: 403 },
  },
  {
    description: 'health check (never audited)',
    method: 'GET',
    path: '/healthz',
    expect: null,
  },
];

/** What one step did. */
export interface StepResult {
  step: DemoStep;
  /** The path as sent (placeholders filled in). */
  path: string;
  /** HTTP status of the response. */
  status: number;
  /** Trace id of the request (32 lowercase hex): the `trace_id` of its audit row. */
  traceId: string;
  /** {@link DemoStep.expect} with placeholders filled in. */
  expected: ExpectedRow | null;
  /** The response body: parsed JSON, else the text. */
  body: unknown;
}

export interface RunScriptOptions {
  /** Default {@link DEMO_STEPS}. */
  steps?: readonly DemoStep[];
  /** Give up on one request after this long. Default 10 s. */
  timeoutMs?: number;
  /** Called after each step. */
  onStep?: (result: StepResult) => void;
}

/** Replace `{name}` by its captured value; an unknown name is an error. */
export function fillPlaceholders(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value captured for {${name}} in "${text}"`);
    return value;
  });
}

/** A random trace id and the `traceparent` header that starts a sampled trace with it. */
export function newTraceparent(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/**
 * Send the steps, in order, to the service at baseUrl
 * (`http://127.0.0.1:3000`). Throws when a request fails outright or a
 * captured value is missing; an unexpected status is reported in the result,
 * not thrown.
 */
export async function runScript(baseUrl: string, options: RunScriptOptions = {}): Promise<StepResult[]> {
  let end = baseUrl.length;
  while (end > 0 && baseUrl[end - 1] === '/') end--;
  const base = baseUrl.slice(0, end);
  const vars: Record<string, string> = {};
  const results: StepResult[] = [];
  for (const step of options.steps ?? DEMO_STEPS) {
    const path = fillPlaceholders(step.path, vars);
    const { traceId, traceparent } = newTraceparent();
    const headers: Record<string, string> = { traceparent, ...step.headers };
    if (step.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(base + path, {
        method: step.method,
        headers,
        ...(step.body !== undefined ? { body: JSON.stringify(step.body) } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new Error(`${step.method} ${path} (${step.description}) failed: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    for (const [name, key] of Object.entries(step.capture ?? {})) {
      const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
      if (typeof value === 'string' || typeof value === 'number') vars[name] = String(value);
    }
    let expected: ExpectedRow | null = null;
    if (step.expect) {
      const id = step.expect.resourceId;
      // A value the response did not provide stays a placeholder: checkRows reports it.
      let resourceId = id;
      if (id !== null) {
        try {
          resourceId = fillPlaceholders(id, vars);
        } catch {
          resourceId = id;
        }
      }
      expected = { ...step.expect, resourceId };
    }
    const result: StepResult = { step, path, status: res.status, traceId, expected, body };
    results.push(result);
    options.onStep?.(result);
  }
  return results;
}

/** The columns of `audit.records` that {@link checkRows} compares. */
export interface RecordRow {
  trace_id: string;
  action: string;
  outcome: string;
  resource_type: string | null;
  resource_id: string | null;
  actor_id: string | null;
  status_code: number | null;
}

/**
 * Compare what the script expects with the rows of `audit.records` (any
 * rows: those of other traces are not looked at). Returns one line per
 * difference; empty when every step got its response status and exactly the
 * row it should have (none for a step that expects none).
 */
export function checkRows(results: readonly StepResult[], rows: readonly RecordRow[]): string[] {
  const problems: string[] = [];
  for (const r of results) {
    const what = `${r.step.method} ${r.path} (${r.step.description})`;
    const mine = rows.filter((row) => row.trace_id === r.traceId);
    const exp = r.expected;
    if (exp === null) {
      if (mine.length > 0) problems.push(`${what}: expected no audit row, found ${mine.length} (${mine.map((m) => m.action).join(', ')})`);
      continue;
    }
    if (r.status !== exp.statusCode) problems.push(`${what}: expected HTTP ${exp.statusCode}, got ${r.status}`);
    if (mine.length !== 1) {
      problems.push(`${what}: expected 1 audit row with trace_id ${r.traceId}, found ${mine.length}`);
      continue;
    }
    const row = mine[0] as RecordRow;
    const compare: [string, unknown, unknown][] = [
      ['action', exp.action, row.action],
      ['outcome', exp.outcome, row.outcome],
      ['resource_type', exp.resourceType, row.resource_type],
      ['resource_id', exp.resourceId, row.resource_id],
      ['actor_id', exp.actorId, row.actor_id],
      ['status_code', exp.statusCode, row.status_code],
    ];
    for (const [column, want, got] of compare) {
      if (want !== got) problems.push(`${what}: ${column} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  }
  return problems;
}
