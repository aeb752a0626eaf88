/**
 * Child processes of the benchmarks: start, watch and stop them, and run a
 * command to its end. CPU time is in cpu.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository's root. */
export const ROOT = resolve(BENCH_DIR, '..');

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

/** Runs a command to its end (a tracked child, the environment of childEnv()); resolves with its exit code and output (stdout and stderr), echoed when `verbose`. */
export function runCommand(cmd: string, args: string[], verbose = false): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let output = '';
    const add = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (verbose) process.stdout.write(chunk);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

/** Resolves with the port of the first `LISTENING <port>` line the child prints (the benchmark apps and the OTLP receiver announce themselves so). */
export function listeningPort(child: ChildProcess, name: string, output: () => string, timeoutMs = 20_000): Promise<number> {
  return awaitLine(child, {
    name,
    output,
    timeoutMs,
    match: (line) => {
      const m = /^LISTENING (\d+)$/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
  });
}
