import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { examplePrerequisite } from '../../src/demo/demo.js';
import { checkRows, DEMO_STEPS, fillPlaceholders, runScript, type DemoStep, type StepResult } from '../../src/demo/script.js';

describe('the demo script', () => {
  it('covers the operations of the example service, and the health check expects no row', () => {
    expect(DEMO_STEPS.map((s) => s.expect?.action ?? null)).toEqual([
      'user.create',
      'user.read',
      'user.update',
      'user.delete',
      'session.create',
      'session.create',
      'reindex.create',
      null,
    ]);
    expect(DEMO_STEPS.at(-1)?.path).toBe('/healthz');
    expect(DEMO_STEPS.map((s) => s.expect?.outcome)).toContain('denied');
  });

  it('fills placeholders and refuses unknown ones', () => {
    expect(fillPlaceholders('/users/{userId}/x', { userId: '3' })).toBe('/users/3/x');
    expect(() => fillPlaceholders('/users/{nope}', {})).toThrow(/\{nope\}/);
  });

  describe('runScript', () => {
    let server: Server;
    let base: string;
    const seen: { method: string; url: string; traceparent: string | undefined; body: string }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', traceparent: req.headers.traceparent as string | undefined, body });
          res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 42 }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('sends each step with a traceparent of its own and fills captured values in', async () => {
      const steps: DemoStep[] = [
        { description: 'make', method: 'POST', path: '/things', body: { a: 1 }, capture: { thing: 'id' }, expect: { action: 'thing.create', outcome: 'success', resourceType: 'thing', resourceId: '{thing}', actorId: null, statusCode: 201 } },
        { description: 'look', method: 'GET', path: '/things/{thing}', expect: null },
      ];
      const results = await runScript(`${base}/`, { steps });
      expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /things', 'GET /things/42']);
      expect(seen[0]?.body).toBe('{"a":1}');
      expect(results.map((r) => r.status)).toEqual([201, 200]);
      expect(results[0]?.expected?.resourceId).toBe('42');
      for (const [i, r] of results.entries()) {
        expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(seen[i]?.traceparent).toMatch(new RegExp(`^00-${r.traceId}-[0-9a-f]{16}-01$`));
      }
      expect(results[0]?.traceId).not.toBe(results[1]?.traceId);
    });
  });

  it('checkRows reports a missing row, a wrong column, a wrong status and a row that should not exist', () => {
    const step = DEMO_STEPS[0] as DemoStep;
    const health = DEMO_STEPS.at(-1) as DemoStep;
    const results: StepResult[] = [
      { step, path: '/users', status: 201, traceId: 'a'.repeat(32), expected: { ...(step.expect as NonNullable<DemoStep['expect']>), resourceId: '3' }, body: {} },
      { step, path: '/users', status: 500, traceId: 'b'.repeat(32), expected: { ...(step.expect as NonNullable<DemoStep['expect']>), resourceId: '4' }, body: {} },
      { step: health, path: '/healthz', status: 200, traceId: 'c'.repeat(32), expected: null, body: 'ok' },
    ];
    const good = { trace_id: 'a'.repeat(32), action: 'user.create', outcome: 'success', resource_type: 'user', resource_id: '3', actor_id: '1', status_code: 201 };
    expect(checkRows(results.slice(0, 1), [good])).toEqual([]);
    const problems = checkRows(results, [
      { ...good, actor_id: null },
      { ...good, trace_id: 'c'.repeat(32), action: 'healthz.list' },
    ]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/actor_id is null, expected "1"/);
    expect(problems[1]).toMatch(/expected HTTP 201, got 500/);
    expect(problems[2]).toMatch(/expected 1 audit row .* found 0/);
    expect(problems[3]).toMatch(/\/healthz .*expected no audit row, found 1/);
  });
});

describe('examplePrerequisite', () => {
  it('names what is missing: the build, the example, or express', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-audit-prereq-'));
    try {
      const register = join(dir, 'register.js');
      const server = join(dir, 'server.js');
      expect(examplePrerequisite(register, server)).toMatch(/register\.js is missing: build the package first/);
      writeFileSync(register, '');
      expect(examplePrerequisite(register, server)).toMatch(/example service .*server\.js is missing/);
      writeFileSync(server, "import express from 'express';\n");
      expect(examplePrerequisite(register, server)).toMatch(/needs express, which is not installed here.*npm install express/);
      // In this repository express is installed next to the example.
      expect(examplePrerequisite(register, join(process.cwd(), 'examples', 'express-app', 'server.js'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
