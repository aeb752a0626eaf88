/**
 * Child processes and CPU accounting for the benchmarks: start, watch and
 * stop children, and CPU time from /proc (Linux; undefined elsewhere).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository's root. */
export const ROOT = resolve(BENCH_DIR, '..');
/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_S = 100;

// ---------------------------------------------------------------------------
// Children

const children = new Set<ChildProcess>();

/** Remembers a child until it exits: a failed or interrupted run kills what is left. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

/**
 * Runs a benchmark's main: what it resolves with is the exit code. On Ctrl-C
 * or an error, the tracked children are killed.
 */
export function runMain(main: () => Promise<number>): void {
  process.once('SIGINT', () => {
    killChildren();
    process.exit(130);
  });
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      killChildren();
      console.error(err);
      process.exitCode = 1;
    },
  );
}

/** This process's environment for a child, without OTEL_* and NODE_OPTIONS from the calling shell, nor what `drop` names. */
export function childEnv(drop: (key: string) => boolean = () => false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTEL_') && k !== 'NODE_OPTIONS' && !drop(k)) env[k] = v;
  }
  return env;
}

/** Node options that write a CPU profile to `profile` on exit (none without one). */
export function cpuProfArgs(profile: string | undefined): string[] {
  return profile ? ['--cpu-prof', '--cpu-prof-dir', dirname(profile), '--cpu-prof-name', relative(dirname(profile), profile)] : [];
}

/** The child's stdout and stderr together (the SDKs' diagnostics use both), the last `limit` characters. */
export function collectOutput(child: ChildProcess, limit = 256 * 1024): () => string {
  let text = '';
  const add = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > limit) text = text.slice(-limit);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

export interface StartWatch<T> {
  /** What errors call the child. */
  name: string;
  /** The child's output so far (collectOutput), for the errors. */
  output: () => string;
  timeoutMs: number;
  /** The error when the child says nothing in time (default: `<name> did not start within <timeoutMs> ms`). */
  timeoutText?: () => string;
  /** What a whole line of the child's stdout (without the line break) announces, or undefined. */
  match: (line: string) => T | undefined;
}

/** Resolves with the first announcement `match` finds in the child's stdout; rejects when the child exits first or after the timeout. */
export function awaitLine<T>(child: ChildProcess, watch: StartWatch<T>): Promise<T> {
  const { name, output, timeoutMs, match } = watch;
  const timeoutText = watch.timeoutText ?? ((): string => `${name} did not start within ${timeoutMs} ms`);
  return new Promise<T>((resolveValue, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(timeoutText())), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) break;
        const value = match(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (value !== undefined) {
          cleanup();
          resolveValue(value);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`${name} exited (${signal ?? code}) before listening\n${output()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the child's stdio closed, with the ms it took (0 if it had exited). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<number> {
  const started = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  // 'close' comes after the child's stdio ended: its last words are read by then.
  const closed = once(child, 'close');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await closed;
  clearTimeout(timer);
  return Date.now() - started;
}

/** Throws when `built` (a file of dist/) is missing; warns when src/ has changed since it was built: the benchmarks run dist/. */
export function checkBuild(built: string): void {
  if (!existsSync(built)) throw new Error(`${relative(ROOT, built)} is missing: run \`npm run build\` first`);
  const builtAt = statSync(built).mtimeMs;
  const newer = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        const hit = newer(p);
        if (hit) return hit;
      } else if (e.name.endsWith('.ts') && statSync(p).mtimeMs > builtAt) {
        return p;
      }
    }
    return undefined;
  };
  const stale = newer(join(ROOT, 'src'));
  if (stale) console.warn(`warning: ${relative(ROOT, stale)} is newer than dist/; run \`npm run build\` to measure it`);
}

// ---------------------------------------------------------------------------
// CPU accounting (from /proc)

export interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime, ms. */
  cpuMs: number;
  /** cutime + cstime (children waited for), ms. */
  childrenMs: number;
}

export function procStat(pid: number | string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    // Fields after "(comm) ": state ppid ... utime(14th) stime cutime cstime.
    const f = stat.slice(close + 2).split(' ');
    const tick = 1000 / CLOCK_TICKS_PER_S;
    return {
      comm: stat.slice(open + 1, close),
      ppid: Number(f[1]),
      cpuMs: (Number(f[11]) + Number(f[12])) * tick,
      childrenMs: (Number(f[13]) + Number(f[14])) * tick,
    };
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process so far, ms; undefined where /proc is not available. */
export function cpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : procStat(pid)?.cpuMs;
}

/** User + system CPU time of this process so far, ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time all processes of the machine used so far (not idle, not iowait), ms; undefined without /proc. */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
    return (ticks * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
}
