/**
 * The viewer in a real browser over encrypted records: a token without
 * "decrypt" sees "[encrypted]" and "[erased]" in the list and the record
 * panel, and the diff says why it is empty; a token with it, on a server
 * with the key-encryption key, sees names and the diff in clear, and finds
 * an encrypted actor id. Runs on the built page (`npm run build`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { startServe, type ServeServer } from '../../src/serve/server.js';
import { tokenHash } from '../../src/serve/tokens.js';
import { ALICE, ALL_COLUMNS, BOB, record, startEncryptedSink, type EncryptedSink } from '../crypto/people.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { adminQuery } from '../helpers/pg.js';

const CHROMIUM = '/usr/bin/chromium';
const suffix = randomBytes(4).toString('hex');
const ROLE = `t_browser_enc_${suffix}`;
const CLEAR = `browser-clear-${suffix}-0123456789`;
const MASKED = `browser-masked-${suffix}-0123456789`;

let e: EncryptedSink;
let server: ServeServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  if (!existsSync(join(import.meta.dirname, '../../dist/viewer/viewer.js'))) throw new Error('dist/viewer is missing: run "npm run build" first');
  e = await startEncryptedSink('postgres', { encryptColumns: ALL_COLUMNS });
  expect(await postLogs(e.sink.httpEndpoint, logsRequest([record(BOB, 2), record(ALICE, 3)]))).toMatchObject({ status: 200, rejected: 0 });
  await eraseRecords(e.sink.sink.db, { kek: e.kek, subject: ALICE.id, mode: 'actor', actor: 'dpo' });
  await adminQuery(`CREATE ROLE ${ROLE} IN ROLE audit_auditor`);
  server = await startServe({
    databaseUrl: e.sink.url as string,
    env: {},
    host: '127.0.0.1',
    port: 0,
    tokens: [
      { name: 'dpo', sha256: tokenHash(CLEAR), role: ROLE, decrypt: true },
      { name: 'support', sha256: tokenHash(MASKED), role: ROLE },
    ],
    kek: e.kek,
    log: () => undefined,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await e?.stop();
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
});

async function open(token: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await page.goto(`${server.url}/#token=${token}`);
  await page.fill('#filter-action', 'user.update');
  await page.click('#apply');
  await expect.poll(() => page.locator('#rows tr.record').count()).toBe(2);
  return page;
}

/** The record panel's field → value rows. */
async function fields(page: Page): Promise<Record<string, string>> {
  const rows = await page.locator('#fields tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  return Object.fromEntries(rows.map(([k, v]) => [k as string, v as string]));
}

describe('viewer over encrypted records', () => {
  it('shows "[encrypted]" and "[erased]" to a token without decrypt, never the ciphertext', async () => {
    const page = await open(MASKED);
    const actors = await page.locator('#rows tr.record td:nth-child(2)').allTextContents();
    // The actor id is encrypted too here.
    expect(actors.sort()).toEqual(['[encrypted] ([encrypted])', '[erased] ([erased])']);
    await page.locator('#rows tr.record', { hasText: '[erased]' }).click();
    await page.locator('#panel').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#diff').textContent()).toBe('Before/after values: [erased]');
    expect(await fields(page)).toMatchObject({ actor_name: '[erased]', client_ip: '[erased]', user_agent: '[erased]', action: 'user.update', resource_id: '3' });
    expect(await page.locator('#request').textContent()).toBe('"[erased]"');
    expect(await page.content()).not.toContain('enc:v');
    await page.context().close();
  });

  it('shows the fields and the diff in clear to a token with decrypt, and finds an encrypted actor id', async () => {
    const page = await open(CLEAR);
    await page.fill('#filter-actor_id', BOB.id);
    await page.click('#apply');
    await expect.poll(() => page.locator('#rows tr.record td:nth-child(2)').allTextContents()).toEqual(['bob (u-2)']);
    await page.locator('#rows tr.record').first().click();
    await page.locator('#diff table.diff').waitFor();
    expect(await page.locator('#diff tr.changed td').first().textContent()).toBe('name');
    expect(await fields(page)).toMatchObject({ actor_name: 'bob', client_ip: BOB.ip, user_agent: BOB.agent });
    await page.context().close();
  });
});
