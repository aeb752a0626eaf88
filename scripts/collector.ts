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
 *   node scripts/collector.ts [manifest ...]   # default: the gateway and the test APM
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Manifests built by default: the gateway distribution and the APM stand-in of the end-to-end tests. */
export const GATEWAY_MANIFEST = join(REPO, 'collector-config', 'builder.yaml');
export const APM_MANIFEST = join(REPO, 'test', 'e2e', 'apm', 'builder.yaml');

export function cacheDir(): string {
  const explicit = process.env['OTEL_AUDIT_CACHE_DIR'];
  if (explicit) return resolve(explicit);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'otel-audit');
}

/** The `go` executable: $GO, then PATH, then the usual install location. */
export function goExecutable(): string {
  const candidates = [process.env['GO'], 'go', '/usr/local/go/bin/go'].filter((c): c is string => Boolean(c));
  for (const c of candidates) {
    const r = spawnSync(c, ['env', 'GOVERSION'], { encoding: 'utf8' });
    if (r.status === 0) return c;
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
  const goVersion = execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  const hash = createHash('sha256').update(m.text).update('\0').update(goVersion).digest('hex').slice(0, 16);
  return join(cacheDir(), 'collector', `${m.name}-${hash}`, m.name);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
    if ((Number.isInteger(owner) && !pidAlive(owner)) || (Number.isNaN(owner) && age > 60_000)) {
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
  const target = collectorPath(manifestPath, go);
  if (existsSync(target)) return target;
  const dir = dirname(target);
  mkdirSync(dirname(dir), { recursive: true });
  const unlock = lock(`${dir}.lock`, 30 * 60_000);
  try {
    if (existsSync(target)) return target;
    const m = readManifest(manifestPath);
    const started = Date.now();
    const builder = ocb(m.version, go, log);
    const work = mkdtempSync(join(dirname(dir), `.build-${m.name}-`));
    try {
      const out = join(work, 'src');
      const manifest = m.text.replace(/^(\s+output_path:).*$/m, `$1 ${out}`);
      if (!manifest.includes(out)) throw new Error(`${manifestPath}: dist.output_path is required`);
      writeFileSync(join(work, 'builder.yaml'), manifest);
      log(`building ${m.name} from ${manifestPath}`);
      const goBin = dirname(go) === '.' ? '' : dirname(go);
      const env = { ...process.env, PATH: goBin ? `${goBin}:${process.env['PATH'] ?? ''}` : process.env['PATH'] };
      run(builder, ['--config', join(work, 'builder.yaml')], env, work);
      mkdirSync(dir, { recursive: true });
      renameSync(join(out, m.name), target);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    log(`built ${target} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return target;
  } finally {
    unlock();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manifests = process.argv.length > 2 ? process.argv.slice(2).map((p) => resolve(p)) : [GATEWAY_MANIFEST, APM_MANIFEST];
  const started = Date.now();
  for (const manifest of manifests) {
    const path = ensureCollector(manifest, (line) => process.stderr.write(`collector: ${line}\n`));
    process.stdout.write(`${path}\n`);
  }
  process.stderr.write(`collector: ready in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
