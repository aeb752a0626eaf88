import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO } from '../helpers/processes.js';

/** The documents whose shell blocks a newcomer follows. */
export const DOCS = ['README.md', 'collector-config/README.md', 'dashboards/README.md', 'bench/README.md'] as const;

/** A fenced `sh` block of a document: its text, and its first line as its name. */
export interface ShellBlock {
  doc: string;
  line: number;
  text: string;
  /** `doc: first line` (indentation and trailing comment removed): how the walk names it. */
  key: string;
}

export function shellBlocks(doc: string, root: string = REPO): ShellBlock[] {
  const source = readFileSync(join(root, doc), 'utf8');
  const blocks: ShellBlock[] = [];
  const fence = /^([ \t]*)```(?:sh|bash|shell)\n([\s\S]*?)^\1```/gm;
  for (const m of source.matchAll(fence)) {
    const indent = m[1] ?? '';
    const text = (m[2] ?? '').split('\n').map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n');
    const first = (text.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '').replace(/\s+#.*$/, '').trim();
    blocks.push({ doc, line: source.slice(0, m.index).split('\n').length, text, key: `${doc}: ${first}` });
  }
  return blocks;
}

/** The files of this tree as a fresh clone of it would hold them (tracked and new, not ignored). */
function treeFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files: ${r.stderr}`);
  return r.stdout.split('\0').filter((f) => f !== '');
}

/**
 * A fresh copy of this tree in `<tmp>/otel-audit`, beside an empty
 * `<tmp>/my-service`, as the README's commands expect them. The installed
 * packages are linked from this checkout (not downloaded again); the
 * package's own build and bin are made by its `prepare` script, as
 * `npm install` makes them.
 */
export function freshCopy(): { root: string; repo: string; service: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'otel-audit-docs-'));
  const repo = join(root, 'otel-audit');
  for (const file of treeFiles()) {
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    try {
      copyFileSync(join(REPO, file), join(repo, file));
    } catch {
      // deleted in the working tree but not yet from git: a clone would not have it either
    }
  }
  const modules = join(repo, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry !== '.bin') symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  for (const bin of readdirSync(join(REPO, 'node_modules', '.bin'))) {
    if (bin !== 'otel-audit') symlinkSync(realpathSync(join(REPO, 'node_modules', '.bin', bin)), join(modules, '.bin', bin));
  }
  const service = join(root, 'my-service');
  mkdirSync(service);
  return { root, repo, service, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** PATH as a newcomer sets it in a checkout: the project's bins (and its Node.js 24) first. */
export function checkoutPath(repo: string): string {
  return [join(repo, 'node_modules', '.bin'), '/usr/local/go/bin', process.env['PATH'] ?? '/usr/bin:/bin'].join(':');
}

export interface ShellResult {
  status: number | null;
  out: string;
}

/**
 * What a reader's shell has besides the variables a walk sets: a home, and
 * how this machine reaches the package registry (a proxy, an extra CA
 * bundle), which `npm install` needs and the docs do not mention.
 */
const NETWORK_VARIABLES = /^(HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(HTTPS?|NO|ALL)_PROXY|(https?|no|all)_proxy|npm_config_(registry|cafile|ca|strict_ssl|proxy|https_proxy|noproxy))$/;

function readerEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = { HOME: '/root' };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && NETWORK_VARIABLES.test(k)) base[k] = v;
  return { ...base, ...env };
}

/** Runs shell text with bash (-e: the first failing command fails it), as a reader would paste it. */
export function sh(text: string, cwd: string, env: Record<string, string>, timeoutMs = 480_000): Promise<ShellResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', text], { cwd, env: readerEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

/** A long-running command of the docs (`npm start`), in its own process group. */
export interface Background {
  output(): string;
  /** Ctrl-C, as the docs say, to the whole group; the exit status. */
  stop(): Promise<number | null>;
}

export function background(text: string, cwd: string, env: Record<string, string>): Background {
  const child = spawn('bash', ['-c', text], { cwd, env: readerEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    output: () => out,
    async stop() {
      if (child.exitCode === null) killGroup(child, 'SIGINT');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
