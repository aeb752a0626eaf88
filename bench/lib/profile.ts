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
