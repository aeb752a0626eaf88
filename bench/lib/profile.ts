/**
 * CPU profiles (node --cpu-prof) of benchmark children: reading them and
 * naming where the time went.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './proc.ts';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface LoadedProfile {
  profile: CpuProfile;
  byId: Map<number, CpuProfileNode>;
  /** Self time of every sampled node, µs. */
  selfUs: Map<number, number>;
}

export function readProfile(file: string): LoadedProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is the time spent in samples[i].
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return { profile, byId, selfUs };
}

/**
 * Who a script belongs to: an npm package, node's internals, or a file of
 * this repository, which `local` names from its path relative to the root.
 */
export function owner(url: string, functionName: string, local: (rel: string) => string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (internals)';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  return local(relative(ROOT, path));
}

/** A script's URL, shorter: from the package (node_modules) or relative to the root. */
export function shortUrl(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  if (url.startsWith('file:')) return relative(ROOT, fileURLToPath(url));
  return url;
}

/** Where a profile's busy time went, µs, largest first. */
export interface ProfileSummary {
  /** Busy (non-idle) sampled time, µs. */
  busyUs: number;
  /** Self time per owner (package, node's internals, file of this repository). */
  owners: [name: string, us: number][];
  /** Self time per function (`name  file:line`). */
  functions: [name: string, us: number][];
  /** Time with what it calls per function of a package or of this repository, recursion counted once. */
  inclusive: [name: string, us: number][];
}

/** A function as the summaries name it: `name  file:line`. */
function functionKey(n: CpuProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  return `${functionName || '(anonymous)'}  ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`;
}

const byTime = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);

/** Sums a profile's self time per owner (`local` names files of this repository, see owner()) and per function, and inclusive time per function. */
export function summarizeProfile(file: string, local: (rel: string) => string): ProfileSummary {
  const { profile, byId, selfUs } = readProfile(file);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const owners = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    const key = functionKey(node);
    functions.set(key, (functions.get(key) ?? 0) + us);
    const o = owner(node.callFrame.url, node.callFrame.functionName, local);
    owners.set(o, (owners.get(o) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n || n.callFrame.url === '' || n.callFrame.url.startsWith('node:')) continue;
      const k = functionKey(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  return { busyUs, owners: byTime(owners), functions: byTime(functions), inclusive: byTime(inclusive) };
}

/** Inclusive time of the functions named `functionName` (in any file), µs. */
export function inclusiveUs(s: ProfileSummary, functionName: string): number {
  return s.inclusive.filter(([k]) => k.startsWith(`${functionName}  `)).reduce((sum, [, us]) => sum + us, 0);
}

export interface ProfileReport {
  top: number;
  /** What the time is divided by (records, rows, requests) and its unit (`record`, `row`, `req`). */
  count: number;
  unit: string;
  /** Decimals of the per-unit time. */
  digits: number;
  /** Headings of the owner table (e.g. `self time by package:`) and whether the inclusive table is printed. */
  ownersHeading: string;
  withInclusive: boolean;
}

/** Prints the largest owners and functions of a summary: share of the busy time and µs per unit. */
export function printProfileSummary(s: ProfileSummary, r: ProfileReport): void {
  const cell = (us: number): string =>
    `${((100 * us) / s.busyUs).toFixed(1).padStart(5)} %  ${(us / Math.max(1, r.count)).toFixed(r.digits).padStart(6)} µs/${r.unit}`;
  const table = (heading: string, entries: [string, number][]): void => {
    console.log(`  ${heading}`);
    for (const [name, us] of entries.slice(0, r.top)) console.log(`    ${cell(us)}  ${name}`);
  };
  table(r.ownersHeading, s.owners);
  table('self time by function:', s.functions);
  if (r.withInclusive) table('inclusive time (with what it calls) by function, packages and dist/ only:', s.inclusive);
}
