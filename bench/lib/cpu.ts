/**
 * CPU accounting of the benchmarks, from /proc (Linux; undefined elsewhere):
 * one process, this process, the whole machine, every Postgres process, and
 * snapshots of all of them to tell who used what during a run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';

/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_S = 100;

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

/** Share of the machine's cores that `ms` of CPU time over `wallMs` is. */
export function machineShare(ms: number, wallMs: number): number {
  return ms / (wallMs * os.availableParallelism());
}

/** CPU of the Postgres server so far, ms, split into its backends (client connections) and the rest. */
export interface PostgresCpu {
  backendsMs: number;
  /** Background processes (walwriter, checkpointer, ...), the postmaster, and exited processes (the postmaster's cutime). */
  otherMs: number;
}

/** Postgres CPU so far: live server processes, plus exited ones (cutime of the postmaster). */
export function postgresCpu(): PostgresCpu {
  let backendsMs = 0;
  let otherMs = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { backendsMs, otherMs };
  }
  const stats = new Map<number, ProcStat>();
  for (const pid of pids) {
    const s = procStat(pid);
    if (s?.comm === 'postgres') stats.set(Number(pid), s);
  }
  for (const [pid, s] of stats) {
    const postmaster = !stats.has(s.ppid);
    if (postmaster) {
      otherMs += s.cpuMs + s.childrenMs;
      continue;
    }
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // exited meanwhile
    }
    // Background processes name themselves (walwriter, checkpointer, ...); backends show user, database and peer.
    if (/\(\d+\)|\[local\]/.test(cmd)) backendsMs += s.cpuMs;
    else otherMs += s.cpuMs;
  }
  return { backendsMs, otherMs };
}

/** CPU of every party so far, at one moment. */
export interface CpuSnapshot {
  atMs: number;
  machineMs: number | undefined;
  /** The measured server process (the sink), if any. */
  serverMs: number | undefined;
  pgBackendsMs: number;
  pgOtherMs: number;
  /** This process: the clients. */
  selfMs: number;
  /** Children of this process that exited (psql), ms. */
  reapedMs: number;
}

export function cpuSnapshot(serverPid: number | undefined): CpuSnapshot {
  const pgCpu = postgresCpu();
  const self = procStat('self');
  const selfMs = selfCpuMs();
  return {
    atMs: performance.now(),
    machineMs: machineBusyMs(),
    serverMs: serverPid === undefined ? undefined : procStat(serverPid)?.cpuMs,
    pgBackendsMs: pgCpu.backendsMs,
    pgOtherMs: pgCpu.otherMs,
    selfMs,
    reapedMs: self?.childrenMs ?? 0,
  };
}

/** CPU used between two snapshots, ms, by who. */
export interface CpuUse {
  wallMs: number;
  machineMs: number | undefined;
  serverMs: number | undefined;
  pgMs: number;
  pgBackendsMs: number;
  clientMs: number;
  /** Exited children of this process (psql). */
  toolsMs: number;
  /** Everything else on the machine (noise). */
  otherMs: number | undefined;
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const serverMs = a.serverMs !== undefined && b.serverMs !== undefined ? b.serverMs - a.serverMs : undefined;
  const pgMs = b.pgBackendsMs + b.pgOtherMs - a.pgBackendsMs - a.pgOtherMs;
  const clientMs = Math.max(0, b.selfMs - a.selfMs);
  const toolsMs = b.reapedMs - a.reapedMs;
  const machineMs = a.machineMs !== undefined && b.machineMs !== undefined ? b.machineMs - a.machineMs : undefined;
  return {
    wallMs: b.atMs - a.atMs,
    machineMs,
    serverMs,
    pgMs,
    pgBackendsMs: b.pgBackendsMs - a.pgBackendsMs,
    clientMs,
    toolsMs,
    otherMs: machineMs === undefined ? undefined : Math.max(0, machineMs - (serverMs ?? 0) - pgMs - clientMs - toolsMs),
  };
}
