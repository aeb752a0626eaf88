/**
 * The viewer's export files: downloadable by the token that made them until
 * the time-to-live, then removed, with what an earlier run left behind;
 * nothing else in the directory is touched.
 */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ExportFiles } from '../../src/serve/export-files.js';

const HOUR = 3_600_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otel-audit-export-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A file in the directory, last written `ageMs` before `now`. */
function file(name: string, now: number, ageMs: number): string {
  const path = join(dir, name);
  writeFileSync(path, 'x');
  const at = (now - ageMs) / 1000;
  utimesSync(path, at, at);
  return name;
}

it('lets only the token that made an export download it, until the time-to-live', () => {
  const files = new ExportFiles(dir, HOUR);
  const now = Date.now();
  const name = 'audit-20261202T010203-0123456789ab.csv';
  files.add([name, `${name}.manifest.json`], 'alice', now);
  expect(files.ownedBy(name, 'alice', now)).toBe(true);
  expect(files.ownedBy(`${name}.manifest.json`, 'alice', now + HOUR - 1)).toBe(true);
  expect(files.ownedBy(name, 'bob', now)).toBe(false);
  expect(files.ownedBy(name, 'alice', now + HOUR)).toBe(false);
  expect(files.ownedBy('../etc/passwd', 'alice', now)).toBe(false);
});

it('removes exports past the time-to-live, known or left by an earlier run, and leaves everything else', async () => {
  const log: string[] = [];
  const files = new ExportFiles(dir, HOUR, (l) => log.push(l));
  const now = Date.now();
  const known = file('audit-20261202T010203-0123456789ab.jsonl', now, 2 * HOUR);
  files.add([known], 'alice', now - 2 * HOUR);
  const recent = file('audit-20261202T020304-abcdefabcdef.csv', now, 10 * 60_000);
  files.add([recent], 'alice', now - 10 * 60_000);
  file('audit-20261101T000000-000000000000.csv.manifest.json', now, 30 * 24 * HOUR);
  const unrelated = file('notes.txt', now, 30 * 24 * HOUR);
  const lookAlike = file('audit-2026.csv', now, 30 * 24 * HOUR);
  expect(await files.sweep(now)).toBe(2);
  expect(readdirSync(dir).sort()).toEqual([lookAlike, recent, unrelated].sort());
  expect(files.ownedBy(known, 'alice', now)).toBe(false);
  expect(files.ownedBy(recent, 'alice', now)).toBe(true);
  expect(log).toEqual([`removed 2 export file(s) older than 60 min from ${dir}`]);
  // Nothing more to remove.
  expect(await files.sweep(now)).toBe(0);
});
