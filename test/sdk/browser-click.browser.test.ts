/**
 * The click that caused the call, in a real browser (Debian's chromium driven
 * by playwright-core): a page with otel-audit/browser and the fetch
 * instrumentation, served by an express app under the register hook that
 * sends its records to a sink on Postgres. A click on "Delete user" makes
 * a DELETE whose audit row shares the click's trace and holds its label.
 * Runs on the built entry (dist/browser, `npm run build`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, FIXTURES, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { waitFor } from '../helpers/processes.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

const CHROMIUM = '/usr/bin/chromium';
const BROWSER_BUILT = join(import.meta.dirname, '../../dist/browser/index.js');

let sink: TestSink;
let app: AppProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let page: Page;
/** Headers of the page's requests to the API, by "METHOD path". */
const sent = new Map<string, Record<string, string>>();
/** What the page logged (its diag logger writes to the console) and the errors it threw. */
const pageLog: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  if (!existsSync(BROWSER_BUILT)) throw new Error(`${BROWSER_BUILT} is missing: run "npm run build" first`);
  dir = tempDir('click');
  const bundle = join(dir.path, 'page.js');
  await build({ entryPoints: [join(FIXTURES, 'click-page.mjs')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: bundle, logLevel: 'warning' });
  sink = await startTestSink('postgres');
  app = await startApp('click-app.mjs', {
    env: { ...baseEnv(sink.grpcEndpoint, join(dir.path, 'spool')), CLICK_BUNDLE: bundle, OTEL_AUDIT_REDACT_KEYS: 'ssn' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('console', (m) => pageLog.push(m.text()));
  page.on('pageerror', (e) => pageLog.push(e.message));
  page.on('request', (r) => sent.set(`${r.method()} ${new URL(r.url()).pathname}`, r.headers()));
  await page.goto(app.url);
  await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await sink?.stop();
  dir?.remove();
});

/** The one audit row of `traceId`, once it is in Postgres. */
async function rowOf(traceId: string): Promise<Record<string, unknown>> {
  const rows = await waitFor(async () => {
    const r = await sink.rows(`trace_id = '${traceId}'`);
    return r.length > 0 ? r : undefined;
  }, 30_000, () => `no row of trace ${traceId}; app said: ${app.output()}; page said: ${pageLog.join('\n')}`);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** The trace id of a traceparent header. */
function traceOf(headers: Record<string, string> | undefined): string {
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(headers?.['traceparent'] ?? '');
  if (!m) throw new Error(`no traceparent in ${JSON.stringify(headers)}`);
  return m[1]!;
}

type ClickSpan = { traceId: string; label?: string; element?: string };
const clickSpans = (): Promise<ClickSpan[]> => page.evaluate(() => (globalThis as unknown as { clickSpans(): ClickSpan[] }).clickSpans());

describe('the click that caused the call', () => {
  it('a click on "Delete user" (on its icon) → the DELETE row shares the click trace and holds its label', async () => {
    await page.locator('#delete-user .icon').click();
    await page.locator('#status', { hasText: 'deleted 204' }).waitFor();
    const traceId = traceOf(sent.get('DELETE /users/7'));
    await page.waitForFunction(() => (globalThis as unknown as { clickSpans(): unknown[] }).clickSpans().length > 0);
    expect(await clickSpans()).toEqual([{ traceId, label: 'Delete user', element: 'button#delete-user' }]);
    const row = await rowOf(traceId);
    expect(row).toMatchObject({ trace_id: traceId, action: 'user.delete', resource_id: '7', status_code: 204 });
    expect(row['attributes']).toMatchObject({ 'audit.ui.label': 'Delete user', 'audit.ui.element': 'button#delete-user', 'audit.ui.event': 'click' });
    // Nothing went wrong in the page (the browser's request for /favicon.ico is answered 404).
    expect(pageLog.filter((line) => !line.includes('404'))).toEqual([]);
  });

  it('a button without aria-label is labelled by its trimmed text', async () => {
    await page.locator('#save').click();
    await page.locator('#status', { hasText: 'saved 201' }).waitFor();
    const headers = sent.get('POST /drafts');
    expect(decodeURIComponent(headers?.['baggage'] ?? '')).toContain('audit.ui.label=Save changes');
    const row = await rowOf(traceOf(headers));
    expect(row['attributes']).toMatchObject({ 'audit.ui.label': 'Save changes', 'audit.ui.element': 'button#save' });
  });

  it('a long text is cut to 64 characters; an element without id is named by its tag', async () => {
    await page.locator('a.archive').click();
    await page.locator('#status', { hasText: 'archived 202' }).waitFor();
    const row = await rowOf(traceOf(sent.get('POST /archive')));
    const label = (row['attributes'] as Record<string, string>)['audit.ui.label'];
    expect(label).toBe(`${'Archive every draft of this project Archive every draft of this'.slice(0, 63)}…`);
    expect(label).toHaveLength(64);
    expect(row['attributes']).toMatchObject({ 'audit.ui.element': 'a' });
  });

  it('a call made in a later task is not the click\'s: its own trace, no audit.ui.* entries', async () => {
    await page.locator('#later').click();
    await page.locator('#status', { hasText: 'later 200' }).waitFor();
    const headers = sent.get('PUT /drafts/9');
    const traceId = traceOf(headers);
    expect((await clickSpans()).map((s) => s.traceId)).not.toContain(traceId);
    expect(headers?.['baggage'] ?? '').not.toContain('audit.ui.');
    const row = await rowOf(traceId);
    expect(Object.keys(row['attributes'] as object).filter((k) => k.startsWith('audit.ui.'))).toEqual([]);
  });

  it('baggage sent by any client is bounded and redacted by the service\'s rules', async () => {
    const traceId = crypto.randomUUID().replace(/-/g, '');
    const label = encodeURIComponent('Refund 4111 1111 1111 1111 token=abc123');
    const res = await fetch(`${app.url}/users/8`, {
      method: 'DELETE',
      headers: {
        traceparent: `00-${traceId}-${'5'.repeat(16)}-01`,
        baggage: `tenant=t-1,audit.ui.label=${label},audit.ui.ssn=123-45-6789,audit.ui.element=${'b'.repeat(2000)},audit.meta.role=admin`,
      },
    });
    expect(res.status).toBe(204);
    const attributes = (await rowOf(traceId))['attributes'] as Record<string, string>;
    expect(attributes['audit.ui.ssn']).toBe('[REDACTED]');
    expect(attributes['audit.ui.label']).toBe('Refund [REDACTED:card] token=[REDACTED]');
    expect(attributes['audit.ui.element']).toMatch(/^b+…\[truncated \d+ chars\]$/);
    expect(attributes['audit.ui.element']!.length).toBeLessThan(300);
    expect(Object.keys(attributes).filter((k) => k.startsWith('audit.'))).toEqual(expect.not.arrayContaining(['audit.meta.role', 'tenant']));
  });
});
