/**
 * The viewer in a real browser (Debian's chromium driven by playwright-core):
 * filter by actor, open a record and see its diff, follow the trace link,
 * page to the end of a list longer than the table keeps by scrolling, read
 * the statistics chart, export, and use it with the keyboard. Runs
 * on the built page (dist/viewer, `npm run build`). On failure a screenshot
 * is written to a temporary directory named in the error.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { startServe, type ServeServer } from '../../src/serve/server.js';
import { tokenHash } from '../../src/serve/tokens.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';
import { seedBulkRecords, seedViewerRecords } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
const VIEWER_BUILT = join(import.meta.dirname, '../../dist/viewer/viewer.js');
const SEED = 240;
/** Records of tenant t-a older than the seed (October): the list is then many pages longer than the table keeps. */
const BULK = 1_000;
/** Tenant t-a holds the even half of the seed, and the bulk. */
const TENANT_ROWS = SEED / 2 + BULK;
/** The most rows the viewer's table holds (viewer.ts). */
const MAX_TABLE_ROWS = 500;
const suffix = randomBytes(4).toString('hex');
const ROLE = `t_browser_${suffix}`;
const TOKEN = `browser-token-${suffix}-0123456789`;

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;
let server: ServeServer;
let apm: Server;
const apmRequests: string[] = [];
let browser: Browser;
let context: BrowserContext;
let page: Page;
let shots: string | undefined;

/** Run a step; on failure save a screenshot and name it in the error. */
async function step(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    shots ??= await mkdtemp(join(tmpdir(), 'otel-audit-viewer-shots-'));
    const file = join(shots, `${name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    (err as Error).message += `\n(screenshot: ${file})`;
    throw err;
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  if (!existsSync(VIEWER_BUILT)) throw new Error(`${VIEWER_BUILT} is missing: run "npm run build" first`);
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(`CREATE ROLE ${ROLE} IN ROLE audit_reader`);
  await seedViewerRecords(owner, SEED);
  await seedBulkRecords(owner, BULK, 't-a', '2026-10-20T12:00:00Z');
  apm = createServer((req, res) => {
    apmRequests.push(req.url ?? '');
    res.end('<!doctype html><title>APM</title><p>trace</p>');
  });
  await new Promise<void>((ok) => apm.listen(0, '127.0.0.1', ok));
  const apmPort = (apm.address() as AddressInfo).port;
  server = await startServe({
    databaseUrl: database.url,
    env: {},
    host: '127.0.0.1',
    port: 0,
    tokens: [{ name: 'carol', sha256: tokenHash(TOKEN), role: ROLE, tenants: ['t-a'] }],
    traceUrl: `http://127.0.0.1:${apmPort}/trace/{trace_id}`,
    log: () => undefined,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  // A zone far from UTC: the table shows local times, UTC on hover.
  context = await browser.newContext({ viewport: { width: 1366, height: 768 }, timezoneId: 'Asia/Tokyo', locale: 'en-GB', acceptDownloads: true });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await new Promise((ok) => apm?.close(ok));
  await owner?.close();
  await database?.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
  if (shots) process.stderr.write(`viewer screenshots: ${shots}\n`);
});

const rows = (): ReturnType<Page['locator']> => page.locator('#rows tr.record');

async function sqlCount(where: string): Promise<number> {
  const { rows: r } = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.records WHERE tenant_id = 't-a' AND ${where}`);
  return r[0]?.n ?? 0;
}

describe('viewer', () => {
  it('opens with the token from the address, and drops it from the address', async () => {
    await step('open', async () => {
      await page.goto(`${server.url}/#token=${TOKEN}`);
      await page.locator('#tabs button', { hasText: 'All modules' }).waitFor();
      await expect.poll(() => rows().count()).toBe(50);
      expect(new URL(page.url()).hash).toBe('');
      expect(await page.locator('#login').isVisible()).toBe(false);
      expect(await page.locator('#who').textContent()).toContain('carol');
      expect(await page.locator('#tabs button').allTextContents()).toEqual(['All modules', 'auth', 'core']);
    });
  });

  it('filters by actor', async () => {
    await step('filter', async () => {
      await page.fill('#filter-actor_id', 'u-3');
      await page.click('#apply');
      const expected = await sqlCount("actor_id = 'u-3'");
      await expect.poll(() => page.locator('#status').textContent()).toBe(`End of records: ${expected} shown.`);
      const actors = await page.locator('#rows tr.record td:nth-child(2)').allTextContents();
      expect(actors).toHaveLength(expected);
      for (const a of actors) expect(a).toContain('(u-3)');
    });
  });

  it('opens a record and shows the diff, with times in the local zone and UTC on hover', async () => {
    await step('record', async () => {
      await rows().first().click();
      await page.locator('#panel').waitFor({ state: 'visible' });
      const diff = page.locator('#diff table.diff');
      await diff.waitFor();
      expect(await diff.locator('tr.changed td').first().textContent()).toBe('amount');
      expect(await diff.locator('tr.added td').first().textContent()).toBe('note');
      expect(await diff.locator('tr.removed td').first().textContent()).toBe('tags[1]');
      expect(await page.locator('#request').textContent()).toContain('"amount"');
      expect(await page.locator('#seal').textContent()).toBe('not sealed yet');
      const time = rows().first().locator('time');
      const iso = (await time.getAttribute('datetime')) as string;
      expect(await time.getAttribute('title')).toBe(`${iso.replace('T', ' ').replace('Z', '')} UTC`);
      // Tokyo is UTC+9: the hour shown is nine hours on.
      const shown = (await time.textContent()) ?? '';
      const tokyoHour = String((new Date(iso).getUTCHours() + 9) % 24).padStart(2, '0');
      expect(shown).toContain(`${tokyoHour}:`);
    });
  });

  it('follows the trace link into the APM', async () => {
    await step('trace', async () => {
      const id = (await rows().first().getAttribute('data-id')) as string;
      const { rows: r } = await owner.query<{ trace_id: string }>('SELECT trace_id FROM audit.records WHERE id = $1::bigint', [id]);
      const traceId = r[0]?.trace_id as string;
      const [apmPage] = await Promise.all([context.waitForEvent('page'), page.click('#trace-link')]);
      await apmPage.waitForLoadState();
      expect(apmPage.url()).toContain(`/trace/${traceId}`);
      expect(apmRequests).toContain(`/trace/${traceId}`);
      await apmPage.close();
    });
  });

  it('is usable with the keyboard', async () => {
    await step('keyboard', async () => {
      await page.keyboard.press('Escape');
      await page.locator('#panel').waitFor({ state: 'hidden' });
      await rows().first().focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      const second = (await rows().nth(1).getAttribute('data-id')) as string;
      await expect.poll(() => page.locator('#fields tr').first().locator('td').nth(1).textContent()).toBe(second);
    });
  });

  it('pages to the end as the table scrolls, holding at most a window of rows, and goes back to the newest', async () => {
    await step('paging', async () => {
      await page.click('#clear');
      await expect.poll(() => rows().count()).toBe(50);
      const { rows: all } = await owner.query<{ id: string }>("SELECT id::text AS id FROM audit.records WHERE tenant_id = 't-a' ORDER BY occurred_at DESC, id DESC");
      expect(all).toHaveLength(TENANT_ROWS);
      const status = (): Promise<string | null> => page.locator('#status').textContent();
      let most = 0;
      for (let pages = 1; pages < 100 && (await status())?.startsWith('End') !== true; pages++) {
        const before = await status();
        await page.locator('#sentinel').scrollIntoViewIfNeeded();
        // As a reader does: while nothing happens, scroll up a little and down to the end again.
        const scrolled = async (): Promise<string | null> => {
          const now = await status();
          if (now === before) {
            await page.mouse.wheel(0, -400);
            await page.locator('#sentinel').scrollIntoViewIfNeeded();
          }
          return now;
        };
        await expect.poll(scrolled, { timeout: 15_000 }).not.toBe(before);
        most = Math.max(most, await rows().count());
      }
      const shown = await rows().count();
      expect(most).toBeLessThanOrEqual(MAX_TABLE_ROWS);
      expect(shown).toBeGreaterThan(MAX_TABLE_ROWS - 50);
      expect(await status()).toBe(`End of records: ${TENANT_ROWS.toLocaleString('en-GB')} in all, the last ${shown} shown.`);
      // The table holds the oldest records, in order, down to the very last one.
      const ids = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
      expect(ids).toEqual(all.slice(-shown).map((r) => r.id));
      const dropped = (TENANT_ROWS - shown).toLocaleString('en-GB');
      expect(await page.locator('#newer-text').textContent()).toBe(`${dropped} newer records left the table, which keeps ${MAX_TABLE_ROWS}.`);
      await page.click('#to-newest');
      await expect.poll(() => rows().count()).toBe(50);
      expect(await rows().first().getAttribute('data-id')).toBe(all[0]?.id);
      expect(await page.locator('#newer').isVisible()).toBe(false);
    });
  });

  it('charts the statistics of the filter: totals by outcome and by module, bucket times local with UTC on hover, keyboard readout', async () => {
    await step('chart', async () => {
      // Tokyo 18:00 to 22:00 is 09:00 to 13:00 UTC: the seed's two hours, in minutes.
      await page.fill('#filter-from', '2026-11-20T18:00:00');
      await page.fill('#filter-to', '2026-11-20T22:00:00');
      await page.click('#apply');
      await page.locator('#stats summary').click();
      await page.locator('#chart-svg').waitFor();
      const range = "occurred_at >= '2026-11-20T09:00:00Z' AND occurred_at < '2026-11-20T13:00:00Z'";
      const total = await sqlCount(range);
      expect(total).toBe(SEED / 2);
      expect(await page.locator('#chart-total').getAttribute('data-total')).toBe(String(total));
      expect(await page.locator('#chart-total').textContent()).toMatch(new RegExp(`^${total} records from .*, per minute$`));
      const legend = async (): Promise<Record<string, number>> =>
        Object.fromEntries(
          await page.locator('#chart-legend li').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-series'), Number(li.getAttribute('data-count'))])),
        ) as Record<string, number>;
      const sqlBy = async (column: string): Promise<Record<string, number>> => {
        const { rows: r } = await owner.query<{ k: string; n: number }>(
          `SELECT ${column} AS k, count(*)::int AS n FROM audit.records WHERE tenant_id = 't-a' AND ${range} GROUP BY 1`,
        );
        return Object.fromEntries(r.map((x) => [x.k, x.n]));
      };
      expect(await legend()).toEqual(await sqlBy('outcome'));
      await page.selectOption('#chart-group', 'module');
      await expect.poll(legend).toEqual(await sqlBy('module'));
      // One bar per minute of the range; the oldest record's minute, read out by the keyboard.
      expect(await page.locator('#chart-svg g.bar').count()).toBe(240);
      const { rows: first } = await owner.query<{ at: Date; module: string }>(
        `SELECT occurred_at AS at, module FROM audit.records WHERE tenant_id = 't-a' AND ${range} ORDER BY occurred_at LIMIT 1`,
      );
      const at = first[0]?.at as Date;
      const utc = `${at.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
      await page.locator('#chart-svg').focus();
      const readout = page.locator('#chart-readout');
      await expect.poll(() => readout.textContent()).toContain(`(${utc}), 1 record: ${first[0]?.module} 1`);
      const tokyo = String((at.getUTCHours() + 9) % 24).padStart(2, '0');
      expect(await readout.textContent()).toContain(`${tokyo}:${String(at.getUTCMinutes()).padStart(2, '0')}`);
      await page.keyboard.press('ArrowRight');
      const nextMinute = new Date(at.getTime() + 60_000).toISOString().replace('T', ' ').replace('Z', '');
      expect(await readout.textContent()).toContain(`(${nextMinute} UTC)`);
      await page.keyboard.press('End');
      expect(await readout.textContent()).toContain('(2026-11-20 12:59:00.000 UTC), 0 records');
      // Hover text of a bar: local time, then UTC.
      const title = await page.locator(`#chart-svg g.bar[data-at="${at.toISOString()}"] title`).textContent();
      expect(title).toContain(`(${utc}), 1 record`);
      await page.locator('#stats summary').click();
    });
  });

  it('exports the current filter and downloads the file', async () => {
    await step('export', async () => {
      await page.fill('#filter-from', '2026-11-01T00:00:00');
      await page.fill('#filter-to', '2026-12-01T00:00:00');
      await page.selectOption('#filter-outcome', 'denied');
      await page.click('#apply');
      const expected = await sqlCount("outcome = 'denied'");
      await expect.poll(() => page.locator('#status').textContent()).toBe(`End of records: ${expected} shown.`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const file = join(await mkdtemp(join(tmpdir(), 'otel-audit-viewer-dl-')), download.suggestedFilename());
      await download.saveAs(file);
      const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { outcome: string; tenant_id: string });
      expect(lines).toHaveLength(expected);
      expect(new Set(lines.map((l) => `${l.tenant_id} ${l.outcome}`))).toEqual(new Set(['t-a denied']));
      await expect.poll(() => page.locator('#message').textContent()).toContain(`Exported ${expected} records`);
      const { rows: r } = await owner.query<{ actor_id: string }>("SELECT actor_id FROM audit.records WHERE action = 'audit.export' ORDER BY id DESC LIMIT 1");
      expect(r[0]?.actor_id).toBe('carol');
    });
  });
});
