/**
 * The audit viewer: module tabs, a filter bar, a statistics chart, a record
 * table that loads the next page as it scrolls into view, and a panel with
 * one record (diff, request, trace link, seal check). Plain DOM, no
 * framework; built by `npm run build` into dist/viewer and served by
 * `otel-audit serve`.
 *
 * The table keeps at most MAX_TABLE_ROWS rows: scrolling on past them drops
 * the first page loaded, at the top (the newest records), so paging through
 * millions of records holds the page's memory steady. A bar above the table
 * says how many newer records left it and leads back to the newest.
 *
 * The token comes from the address (`#token=…`, removed from it at once) or
 * the login form, and stays in this tab's sessionStorage.
 */

import { drawChart, type GroupBy, type StatsAnswer } from './chart.js';

interface Summary {
  id: string;
  occurred_at: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  module: string | null;
  url_path: string | null;
}
interface Page {
  records: Summary[];
  next: string | null;
}
interface Session {
  name: string;
  role: string;
  allTenants: boolean;
  tenants: string[];
  modules: string[];
}
interface DiffEntry {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}
interface Detail {
  record: Record<string, unknown>;
  /** `unreadable`: the change values read as `[encrypted]` or `[erased]`, so nothing can be compared. */
  diff: { entries: DiffEntry[]; truncated: boolean; unreadable?: string };
  seal: { status: string; digest: { id: string; created_at: string; signed: boolean } | null };
  traceUrl: string | null;
}
interface ExportAnswer {
  manifest: { rows: number; sha256: string };
  file: string;
  download: string;
  manifestDownload: string;
}

const TOKEN_KEY = 'otel-audit-token';
const PAGE_ROWS = 50;
/** Rows the table holds at most (whole pages); past it the first page is dropped for each new one. */
const MAX_TABLE_ROWS = 10 * PAGE_ROWS;
const FILTER_NAMES = ['actor_id', 'action', 'resource_type', 'resource_id', 'outcome', 'service_name', 'tenant_id', 'trace_id', 'q'] as const;
const SEAL_TEXT: Record<string, string> = {
  verified: 'sealed and verified',
  unsealed: 'not sealed yet',
  modified: 'MODIFIED since sealed',
  not_in_seal: 'MISSING from its seal',
  seal_damaged: 'seal DAMAGED',
};

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let token = '';
let module = '';
let next: string | null = null;
/** Rows of each page in the table, oldest page first, and the count of rows loaded and dropped since the search. */
let pageSizes: number[] = [];
let loaded = 0;
let dropped = 0;
let loading = false;
/** The sentinel came into view while a page was loading: load the next one after it. */
let wantMore = false;
let generation = 0;
let selected: HTMLTableRowElement | null = null;
let chartGeneration = 0;
let lastStats: StatsAnswer | null = null;
let openId: string | null = null;

class ApiError extends Error {}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { Authorization: `Bearer ${token}` } });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('The token was not accepted.');
    throw new ApiError('not signed in');
  }
  const body = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new ApiError(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function say(text: string, info = false): void {
  const m = $('message');
  m.textContent = text;
  m.className = info ? 'message info' : 'message';
}

function showLogin(reason = ''): void {
  $('app').hidden = true;
  $('login').hidden = false;
  say(reason);
  $('token').focus();
}

/** Local time for reading, UTC on hover. */
function timeCell(iso: string): HTMLTableCellElement {
  const td = document.createElement('td');
  const time = document.createElement('time');
  time.dateTime = iso;
  time.textContent = new Date(iso).toLocaleString();
  time.title = `${iso.replace('T', ' ').replace('Z', '')} UTC`;
  td.append(time);
  return td;
}

function cell(text: string | null, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (text) td.title = text;
  if (className) td.className = className;
  return td;
}

function query(extra: Record<string, string> = {}): URLSearchParams {
  const form = $<HTMLFormElement>('filters');
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const el = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    if (el.value.trim() !== '') params.set(name, el.value.trim());
  }
  for (const name of ['from', 'to']) {
    const value = (form.elements.namedItem(name) as HTMLInputElement).value;
    if (value) params.set(name, new Date(value).toISOString());
  }
  if (module) params.set('module', module);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params;
}

function addRows(records: Summary[]): void {
  const body = $('rows');
  for (const r of records) {
    const tr = document.createElement('tr');
    tr.className = 'record';
    tr.tabIndex = 0;
    tr.dataset.id = r.id;
    const resource = [r.resource_type, r.resource_id].filter(Boolean).join(' ');
    tr.append(
      timeCell(r.occurred_at),
      cell(r.actor_name ? `${r.actor_name} (${r.actor_id ?? ''})` : r.actor_id),
      cell(r.action),
      cell(resource),
      cell(r.outcome, `outcome-${r.outcome}`),
      cell(r.module),
      cell(r.url_path),
    );
    body.append(tr);
  }
  pageSizes.push(records.length);
  loaded += records.length;
  while (body.children.length > MAX_TABLE_ROWS && pageSizes.length > 1) dropFirstPage();
}

/** Drop the first page of the table, keeping the rows in view where they are on the screen. */
function dropFirstPage(): void {
  const body = $('rows');
  const count = pageSizes.shift() ?? 0;
  const keep = body.children[count] as HTMLElement | undefined;
  const top = keep?.getBoundingClientRect().top ?? 0;
  for (let i = 0; i < count && body.firstElementChild; i++) {
    if (body.firstElementChild === selected) selected = null;
    body.firstElementChild.remove();
  }
  dropped += count;
  // Scroll by what left above, unless the browser's scroll anchoring already did.
  if (keep) window.scrollBy(0, keep.getBoundingClientRect().top - top);
  const n = dropped.toLocaleString();
  $('newer-text').textContent = `${n} newer record${dropped === 1 ? '' : 's'} left the table, which keeps ${MAX_TABLE_ROWS.toLocaleString()}.`;
  $('newer').hidden = false;
}

function pagingStatus(): string {
  const shown = $('rows').children.length;
  if (next) return dropped === 0 ? `${shown.toLocaleString()} records shown` : `${loaded.toLocaleString()} records read, the last ${shown.toLocaleString()} shown`;
  if (loaded === 0) return 'No records match.';
  return dropped === 0 ? `End of records: ${shown.toLocaleString()} shown.` : `End of records: ${loaded.toLocaleString()} in all, the last ${shown.toLocaleString()} shown.`;
}

async function loadPage(): Promise<void> {
  if (loading) return;
  loading = true;
  const mine = generation;
  $('status').textContent = 'Loading…';
  try {
    const page = await api<Page>(`/api/records?${query({ limit: String(PAGE_ROWS), ...(next ? { cursor: next } : {}) }).toString()}`);
    if (mine !== generation) return;
    next = page.next;
    addRows(page.records);
    $('status').textContent = pagingStatus();
    $('more').hidden = next === null;
  } catch (err) {
    if (mine === generation) $('status').textContent = '';
    if (!(err instanceof ApiError && err.message === 'not signed in')) say((err as Error).message);
  } finally {
    loading = false;
  }
  // A short page may leave the sentinel visible, or it came into view while this page loaded: keep going.
  if (mine === generation && next && (wantMore || sentinelVisible())) {
    wantMore = false;
    void loadPage();
  }
}

function sentinelVisible(): boolean {
  const r = $('sentinel').getBoundingClientRect();
  return r.top < window.innerHeight + 200;
}

function search(): void {
  generation++;
  next = null;
  loading = false;
  wantMore = false;
  pageSizes = [];
  loaded = 0;
  dropped = 0;
  selected = null;
  $('rows').replaceChildren();
  $('newer').hidden = true;
  say('');
  void loadPage();
  refreshChart();
}

/** Statistics of the current filter, when the chart is open. */
function refreshChart(): void {
  if (!$<HTMLDetailsElement>('stats').open) return;
  const mine = ++chartGeneration;
  $('chart').setAttribute('aria-busy', 'true');
  api<StatsAnswer>(`/api/stats?${query().toString()}`)
    .then((stats) => {
      if (mine !== chartGeneration) return;
      lastStats = stats;
      drawChart($('chart'), stats, $<HTMLSelectElement>('chart-group').value as GroupBy);
    })
    .catch((err: unknown) => {
      if (mine === chartGeneration && !(err instanceof ApiError && err.message === 'not signed in')) say(`Statistics: ${(err as Error).message}`);
    })
    .finally(() => {
      if (mine === chartGeneration) $('chart').removeAttribute('aria-busy');
    });
}

function selectTab(name: string): void {
  module = name;
  for (const b of $('tabs').querySelectorAll('button')) {
    const on = b.dataset.module === name;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
  search();
}

function buildTabs(modules: string[]): void {
  const tabs = $('tabs');
  tabs.replaceChildren();
  for (const name of ['', ...modules]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('role', 'tab');
    b.dataset.module = name;
    b.textContent = name === '' ? 'All modules' : name;
    b.addEventListener('click', () => selectTab(name));
    tabs.append(b);
  }
  tabs.addEventListener('keydown', (e) => {
    const buttons = [...tabs.querySelectorAll('button')];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0 || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    const to = buttons[(at + (e.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length] as HTMLButtonElement;
    to.focus();
    selectTab(to.dataset.module ?? '');
  });
}

function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function renderDiff(diff: Detail['diff']): void {
  const box = $('diff');
  box.replaceChildren();
  if (diff.unreadable !== undefined) {
    box.textContent = `Before/after values: ${diff.unreadable}`;
    return;
  }
  if (diff.entries.length === 0) {
    box.textContent = 'No before/after values recorded, or no difference.';
    return;
  }
  const table = document.createElement('table');
  table.className = 'diff';
  const head = document.createElement('tr');
  for (const h of ['Field', 'Change', 'Before', 'After']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  table.append(head);
  for (const e of diff.entries) {
    const tr = document.createElement('tr');
    tr.className = e.kind;
    const code = (v: unknown): HTMLTableCellElement => {
      const td = document.createElement('td');
      const c = document.createElement('code');
      c.textContent = json(v);
      td.append(c);
      return td;
    };
    tr.append(cell(e.path || '(value)'), cell(e.kind), code(e.before), code(e.after));
    table.append(tr);
  }
  box.append(table);
  if (diff.truncated) box.append(' (more changes not shown)');
}

function renderSeal(seal: Detail['seal']): void {
  const el = $('seal');
  const text = SEAL_TEXT[seal.status] ?? seal.status;
  el.textContent = seal.digest ? `${text} (digest ${seal.digest.id}${seal.digest.signed ? ', signed' : ''})` : text;
  el.className = `seal ${seal.status === 'verified' ? 'verified' : seal.status === 'unsealed' ? '' : 'bad'}`;
}

async function openRecord(id: string, focus = true): Promise<void> {
  try {
    const d = await api<Detail>(`/api/records/${encodeURIComponent(id)}`);
    openId = id;
    const r = d.record;
    $('panel').hidden = false;
    $('panel-title').textContent = `${String(r.action)} ${[r.resource_type, r.resource_id].filter((v) => v !== null).join(' ')}`;
    const link = $<HTMLAnchorElement>('trace-link');
    link.hidden = d.traceUrl === null;
    if (d.traceUrl) link.href = d.traceUrl;
    renderSeal(d.seal);
    renderDiff(d.diff);
    $('request').textContent = json(r.request) || '(none)';
    const fields = $('fields');
    fields.replaceChildren();
    for (const [k, v] of Object.entries(r)) {
      const tr = document.createElement('tr');
      const text = v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      tr.append(cell(k), k === 'occurred_at' || k === 'received_at' ? timeCell(String(v)) : cell(text));
      fields.append(tr);
    }
    if (focus) $('panel-title').focus();
  } catch (err) {
    if (!(err instanceof ApiError && err.message === 'not signed in')) say((err as Error).message);
  }
}

function selectRow(tr: HTMLTableRowElement): void {
  selected?.removeAttribute('aria-selected');
  selected = tr;
  tr.setAttribute('aria-selected', 'true');
  void openRecord(tr.dataset.id ?? '', false);
}

async function exportFilter(): Promise<void> {
  const format = $<HTMLSelectElement>('export-format').value;
  say('Exporting…', true);
  try {
    const made = await api<ExportAnswer>(`/api/exports?${query({ format }).toString()}`, { method: 'POST' });
    const res = await fetch(made.download, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new ApiError(`download failed: HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = made.file;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Exported ${made.manifest.rows} records to ${made.file} (SHA-256 ${made.manifest.sha256.slice(0, 16)}…); the manifest is kept with it on the server.`, true);
  } catch (err) {
    if (!(err instanceof ApiError && err.message === 'not signed in')) say(`Export: ${(err as Error).message}`);
  }
}

async function start(): Promise<void> {
  try {
    const s = await api<Session>('/api/session');
    $('who').textContent = `${s.name} as ${s.role}${s.allTenants ? ', every tenant' : `, tenants: ${s.tenants.join(', ') || 'none'}`}`;
    $('login').hidden = true;
    $('app').hidden = false;
    buildTabs(s.modules);
    selectTab('');
  } catch (err) {
    if (!(err instanceof ApiError && err.message === 'not signed in')) say((err as Error).message);
  }
}

function wire(): void {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $<HTMLInputElement>('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    void start();
  });
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  $('clear').addEventListener('click', () => {
    $<HTMLFormElement>('filters').reset();
    search();
  });
  $('export').addEventListener('click', () => void exportFilter());
  $('more').addEventListener('click', () => void loadPage());
  $('stats').addEventListener('toggle', () => refreshChart());
  $('chart-group').addEventListener('change', () => {
    if (lastStats) drawChart($('chart'), lastStats, $<HTMLSelectElement>('chart-group').value as GroupBy);
  });
  $('to-newest').addEventListener('click', () => {
    search();
    window.scrollTo(0, 0);
  });
  $('panel-close').addEventListener('click', () => closePanel());
  $('verify').addEventListener('click', () => {
    if (openId) void openRecord(openId, false);
  });
  const rows = $('rows');
  rows.addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (tr) selectRow(tr);
  });
  rows.addEventListener('keydown', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (!tr) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      selectRow(tr);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const to = (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLTableRowElement | null;
      to?.focus();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('panel').hidden) closePanel();
  });
  new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting) || !next) return;
    if (loading) wantMore = true;
    else void loadPage();
  }, { rootMargin: '200px' }).observe($('sentinel'));
}

function closePanel(): void {
  $('panel').hidden = true;
  openId = null;
  selected?.focus();
}

function main(): void {
  wire();
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash[1] as string));
    history.replaceState(null, '', location.pathname + location.search);
  }
  token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  if (token) void start();
  else showLogin();
}

main();
