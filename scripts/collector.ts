/**
 * Builds an OpenTelemetry Collector from an ocb (OpenTelemetry Collector
 * Builder) manifest with Go modules from the module proxy, and caches the
 * binary outside the repository:
 *
 *   ${OTEL_AUDIT_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/otel-audit}/collector/<name>-<hash>/<name>
 *
 * The hash covers the manifest and the Go version, so the binary is rebuilt
 * only when the manifest (or Go) changes. Concurrent callers wait for one
 * build (a lock directory next to the target).
 *
 * It also builds Jaeger v2 from its Go module, the APM of the end-to-end
 * tests, cached the same way under .../jaeger/.
 *
 *   node scripts/collector.ts              # the gateway collector and Jaeger
 *   node scripts/collector.ts <manifest>   # one ocb manifest
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../src/util/process.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The gateway distribution's manifest. */
export const GATEWAY_MANIFEST = join(REPO, 'collector-config', 'builder.yaml');

/** Jaeger v2.13.0: its Go module carries the v1 version numbers. */
export const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
export const JAEGER_MODULE_VERSION = 'v1.76.0';

export function cacheDir(): string {
  const explicit = process.env['OTEL_AUDIT_CACHE_DIR'];
  if (explicit) return resolve(explicit);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'otel-audit');
}

let goFound: string | undefined;
/** `go env GOVERSION` by executable. */
const goVersions = new Map<string, string>();

/** The `go` executable: $GO, then PATH, then the usual install location (looked up once). */
export function goExecutable(): string {
  if (goFound) return goFound;
  const candidates = [process.env['GO'], 'go', '/usr/local/go/bin/go'].filter((c): c is string => Boolean(c));
  for (const c of candidates) {
    const r = spawnSync(c, ['env', 'GOVERSION'], { encoding: 'utf8' });
    if (r.status === 0) {
      goFound = c;
      goVersions.set(c, r.stdout.trim());
      return c;
    }
  }
  throw new Error('Go is needed to build the OpenTelemetry Collector (https://go.dev/dl/); set GO to its path if it is not on PATH');
}

interface Manifest {
  name: string;
  version: string;
  text: string;
}

function readManifest(path: string): Manifest {
  const text = readFileSync(path, 'utf8');
  const dist = /^dist:\s*\n((?:[ \t]+.*\n?|\s*\n)*)/m.exec(text)?.[1] ?? '';
  const name = /^\s+name:\s*([\w.-]+)/m.exec(dist)?.[1];
  const version = /^\s+version:\s*v?([\w.-]+)/m.exec(dist)?.[1];
  if (!name || !version) throw new Error(`${path}: dist.name and dist.version are required`);
  return { name, version, text };
}

/** Where the binary built from `manifestPath` lives (whether or not it exists yet). */
export function collectorPath(manifestPath: string, go = goExecutable()): string {
  const m = readManifest(manifestPath);
  const hash = createHash('sha256').update(m.text).update('\0').update(goVersion(go)).digest('hex').slice(0, 16);
  return join(cacheDir(), 'collector', `${m.name}-${hash}`, m.name);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Take the build lock (a directory holding the owner's pid); wait while another live process holds it. */
function lock(lockDir: string, timeoutMs: number): () => void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
    } catch {
      // The owner has not written its pid yet.
    }
    const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if ((Number.isInteger(owner) && !processAlive(owner)) || (Number.isNaN(owner) && age > 60_000)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for another collector build (${lockDir})`);
    sleep(1000);
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

function goVersion(go: string): string {
  let v = goVersions.get(go);
  if (v === undefined) {
    v = execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    goVersions.set(go, v);
  }
  return v;
}

/**
 * Build `target` once: under a lock, into a temporary directory next to it,
 * renamed into place only when complete.
 */
function buildOnce(target: string, what: string, build: (work: string) => string, log: (line: string) => void): string {
  if (existsSync(target)) return target;
  const dir = dirname(target);
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = lock(`${dir}.lock`, 30 * 60_000);
  try {
    if (existsSync(target)) return target;
    const started = Date.now();
    const work = mkdtempSync(join(dirname(dir), '.build-'));
    try {
      log(`building ${what}`);
      const built = build(work);
      mkdirSync(dir, { recursive: true });
      renameSync(built, target);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    log(`built ${target} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return target;
  } finally {
    unlock();
  }
}

/** PATH with the directory of `go` first, so tools that run `go` find the same one. */
function envWithGo(go: string): NodeJS.ProcessEnv {
  const goBin = dirname(go) === '.' ? '' : dirname(go);
  return { ...process.env, PATH: goBin ? `${goBin}:${process.env['PATH'] ?? ''}` : process.env['PATH'] };
}

/** The ocb binary for a collector version, installed with `go install` into the cache on first use. */
function ocb(version: string, go: string, log: (line: string) => void): string {
  const bin = join(cacheDir(), 'ocb', `v${version}`);
  const exe = join(bin, 'builder');
  if (existsSync(exe)) return exe;
  mkdirSync(bin, { recursive: true });
  log(`installing ocb v${version}`);
  run(go, ['install', `go.opentelemetry.io/collector/cmd/builder@v${version}`], { ...process.env, GOBIN: bin }, REPO);
  return exe;
}

/**
 * The path of a collector binary built from `manifestPath`, building it first
 * when the cache has none for this manifest.
 */
export function ensureCollector(manifestPath: string, log: (line: string) => void = () => {}): string {
  const go = goExecutable();
  const m = readManifest(manifestPath);
  return buildOnce(
    collectorPath(manifestPath, go),
    `${m.name} from ${manifestPath}`,
    (work) => {
      const builder = ocb(m.version, go, log);
      const out = join(work, 'src');
      const manifest = m.text.replace(/^(\s+output_path:).*$/m, `$1 ${out}`);
      if (!manifest.includes(out)) throw new Error(`${manifestPath}: dist.output_path is required`);
      writeFileSync(join(work, 'builder.yaml'), manifest);
      run(builder, ['--config', join(work, 'builder.yaml')], envWithGo(go), work);
      return join(out, m.name);
    },
    log,
  );
}

/** Where the Jaeger v2 binary lives (whether or not it exists yet). */
export function jaegerPath(go = goExecutable()): string {
  const hash = createHash('sha256').update(`${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}\0${goVersion(go)}`).digest('hex').slice(0, 16);
  return join(cacheDir(), 'jaeger', `jaeger-${hash}`, 'jaeger');
}

/** The path of the Jaeger v2 binary, built from its Go module on first use. */
export function ensureJaeger(log: (line: string) => void = () => {}): string {
  const go = goExecutable();
  return buildOnce(
    jaegerPath(go),
    `Jaeger from ${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}`,
    (work) => {
      const env = envWithGo(go);
      const info = JSON.parse(
        execFileSync(go, ['mod', 'download', '-json', `${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}`], { cwd: work, env, encoding: 'utf8' }),
      ) as { Dir?: string; Error?: string };
      if (!info.Dir) throw new Error(`go mod download ${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}: ${info.Error ?? 'no directory'}`);
      const out = join(work, 'jaeger');
      run(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', out, './cmd/jaeger'], env, info.Dir);
      return out;
    },
    log,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const log = (line: string): void => void process.stderr.write(`collector: ${line}\n`);
  const started = Date.now();
  if (process.argv.length > 2) {
    for (const manifest of process.argv.slice(2)) process.stdout.write(`${ensureCollector(resolve(manifest), log)}\n`);
  } else {
    process.stdout.write(`${ensureCollector(GATEWAY_MANIFEST, log)}\n${ensureJaeger(log)}\n`);
  }
  process.stderr.write(`collector: ready in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
