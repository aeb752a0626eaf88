/**
 * The processes of `npm run pipeline`: each started in a process group of its
 * own (so a Ctrl-C in the terminal reaches only the pipeline, which stops
 * them in order), its output written to a log file and kept, in part, for
 * error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** How much of a child's output is kept in memory. */
const KEPT_OUTPUT = 64 * 1024;
/** How often readiness is polled, ms. */
const POLL_MS = 100;

export interface ChildOptions {
  /** What the pipeline calls it in its messages. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Its stdout and stderr go here (truncated first). */
  logFile: string;
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** Its last output (up to 64 KiB). */
  output(): string;
  running(): boolean;
  /** Resolves with `code N` or `signal S` once it is gone. */
  readonly exited: Promise<string>;
  /** Send `signal` and wait for the exit; SIGKILL after graceMs. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

export function startChild(o: ChildOptions): Child {
  const log = createWriteStream(o.logFile, { flags: 'w' });
  const child = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const collect = (chunk: Buffer): void => {
    log.write(chunk);
    out += chunk.toString();
    if (out.length > KEPT_OUTPUT) out = out.slice(out.length - KEPT_OUTPUT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let gone = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = true;
      resolve(signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`);
    });
    child.once('error', (err) => {
      gone = true;
      out += `\n${err.message}\n`;
      resolve(`error: ${err.message}`);
    });
  });
  // The log file closes once the pipes have delivered everything.
  void exited.then(() => setImmediate(() => log.end()));
  return {
    name: o.name,
    process: child,
    logFile: o.logFile,
    output: () => out,
    running: () => !gone,
    exited,
    async stop(signal, graceMs) {
      if (gone) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Wait until `ready` says so; throws when the child exits first or the time
 * is up (the caller shows the child's output).
 */
export async function waitReady(child: Child, ready: () => boolean | Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal.aborted) throw new Error('interrupted');
    if (!child.running()) throw new Error(`${child.name} exited before it was ready (${await child.exited})`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${child.name} was not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** True once an HTTP GET of url answers 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** The last lines of a text, indented, for an error message. */
export function tail(text: string, lines = 20): string {
  const last = text.trimEnd().split('\n').slice(-lines);
  return last.length === 1 && last[0] === '' ? '    (no output)' : last.map((l) => `    ${l}`).join('\n');
}
