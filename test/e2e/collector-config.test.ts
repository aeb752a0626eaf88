/**
 * collector-config/: every configuration is valid for the collector built
 * from builder.yaml (`otelcol validate`), and the manifest holds exactly the
 * components the configurations use.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, tempDir } from '../helpers/app-process.js';
import { BUILD_TIMEOUT_MS, collectorBinaries } from './harness.js';

const run = promisify(execFile);
const CONFIG_DIR = join(REPO, 'collector-config');

/** What the configurations need from the environment, with values of the right shape. */
const ENV = {
  APM_ENDPOINT: 'apm.example:4317',
  AUDIT_SINK_ENDPOINT: 'otel-audit-sink:4317',
  AUDIT_SINK_HOSTNAMES: '[otel-audit-sink-0.otel-audit-sink:4317, otel-audit-sink-1.otel-audit-sink:4317]',
  AUDIT_SINK_DNS_NAME: 'otel-audit-sink-headless.observability.svc.cluster.local',
  SIEM_ENDPOINT: 'siem-collector.security:4317',
};

let binary: string;
const tmp = tempDir('collector-config');

/** `otelcol validate` on one configuration, or on several merged in order (an overlay last). */
async function validate(config: string | string[], env: Record<string, string> = ENV): Promise<{ ok: boolean; output: string }> {
  const args = [config].flat().flatMap((c) => ['--config', `file:${c}`]);
  try {
    const { stdout, stderr } = await run(binary, ['validate', ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface Config {
  extensions?: Record<string, { directory?: string } | undefined>;
  exporters: Record<string, { sending_queue?: { storage?: string; block_on_overflow?: boolean }; retry_on_failure?: { max_elapsed_time?: number } } | undefined>;
  service: { extensions?: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] } | undefined> };
}

type Section = 'receivers' | 'processors' | 'exporters' | 'extensions' | 'connectors';
const SECTIONS: Section[] = ['receivers', 'processors', 'exporters', 'extensions', 'connectors'];

/** Component types a configuration uses, per section (`otlp_grpc/apm` → `otlp_grpc`). */
function usedComponents(file: string): Record<Section, Set<string>> {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
  const out = {} as Record<Section, Set<string>>;
  for (const s of SECTIONS) out[s] = new Set(Object.keys(doc[s] ?? {}).map((id) => id.split('/')[0] as string));
  return out;
}

/** Component types compiled into the binary, from `<binary> components`. */
async function builtComponents(): Promise<Record<Section, Set<string>>> {
  const { stdout } = await run(binary, ['components']);
  const doc = parse(stdout) as Record<string, { name: string }[] | undefined>;
  const out = {} as Record<Section, Set<string>>;
  for (const s of SECTIONS) out[s] = new Set((doc[s] ?? []).map((c) => c.name));
  return out;
}

beforeAll(() => {
  binary = collectorBinaries().gateway;
}, BUILD_TIMEOUT_MS);

afterAll(() => tmp.remove());

describe('collector-config/', () => {
  it.each(['otelcol.yaml', 'otelcol-scaled.yaml'])('%s is valid', async (name) => {
    const r = await validate(join(CONFIG_DIR, name));
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('otelcol-local.yaml laid over otelcol.yaml is valid with no variable set (one machine, npm run pipeline)', async () => {
    const r = await validate([join(CONFIG_DIR, 'otelcol.yaml'), join(CONFIG_DIR, 'otelcol-local.yaml')], {});
    expect(r.ok, r.output).toBe(true);
  });

  it.each(['otelcol.yaml', 'otelcol-scaled.yaml'])('%s with the otelcol-siem.yaml overlay is valid', async (name) => {
    const r = await validate([join(CONFIG_DIR, name), join(CONFIG_DIR, 'otelcol-siem.yaml')]);
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('the SIEM overlay without SIEM_ENDPOINT fails validation', async () => {
    const { SIEM_ENDPOINT: _, ...env } = ENV;
    const r = await validate([join(CONFIG_DIR, 'otelcol.yaml'), join(CONFIG_DIR, 'otelcol-siem.yaml')], env);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/siem.*endpoint/);
  });

  it('otelcol-scaled.yaml is valid with its DNS resolver in place of the static one', async () => {
    const text = readFileSync(join(CONFIG_DIR, 'otelcol-scaled.yaml'), 'utf8');
    const dns = text
      .replace(/^ {6}static:\n {8}hostnames:.*\n/m, '')
      .replace(/^ {6}# (dns:| {2}hostname:| {2}port:| {2}interval:| {2}timeout:)/gm, '      $1');
    expect(dns).not.toBe(text);
    expect(dns).not.toMatch(/static:/);
    const file = join(tmp.path, 'otelcol-scaled-dns.yaml');
    writeFileSync(file, dns);
    const doc = parse(dns) as { exporters: Record<string, { resolver: Record<string, unknown> }> };
    expect(Object.keys(doc.exporters['load_balancing/audit-sinks']?.resolver ?? {})).toEqual(['dns']);
    expect((await validate(file)).ok).toBe(true);
  });

  it('a configuration the collector would refuse fails validation (the check can fail)', async () => {
    const broken = readFileSync(join(CONFIG_DIR, 'otelcol.yaml'), 'utf8').replace('max_elapsed_time: 0', 'max_elapsed_tme: 0');
    const file = join(tmp.path, 'broken.yaml');
    writeFileSync(file, broken);
    const r = await validate(file);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('max_elapsed_tme');
  });

  it('a missing endpoint variable fails validation', async () => {
    const r = await validate(join(CONFIG_DIR, 'otelcol.yaml'), { APM_ENDPOINT: 'apm:4317' });
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/audit-sink.*endpoint/);
  });

  it('builder.yaml holds exactly the components the configurations use', async () => {
    const used = {} as Record<Section, Set<string>>;
    for (const s of SECTIONS) used[s] = new Set();
    for (const name of ['otelcol.yaml', 'otelcol-scaled.yaml', 'otelcol-siem.yaml']) {
      const u = usedComponents(join(CONFIG_DIR, name));
      for (const s of SECTIONS) for (const c of u[s]) used[s].add(c);
    }
    const built = await builtComponents();
    for (const s of SECTIONS) expect([...built[s]].sort(), s).toEqual([...used[s]].sort());
  });

  it('the audit exporters keep records on disk and never give up', () => {
    for (const name of ['otelcol.yaml', 'otelcol-scaled.yaml']) {
      const doc = parse(readFileSync(join(CONFIG_DIR, name), 'utf8')) as {
        exporters: Record<string, { sending_queue?: { storage?: string; block_on_overflow?: boolean }; retry_on_failure?: { max_elapsed_time?: number } }>;
        service: { pipelines: Record<string, { exporters: string[]; processors: string[] }> };
      };
      for (const [id, pipeline] of Object.entries(doc.service.pipelines)) {
        expect(pipeline.processors[0], `${name} ${id}`).toBe('memory_limiter');
        if (!id.endsWith('/audit')) continue;
        expect(pipeline.processors.some((p) => p.startsWith('filter/')), `${name} ${id}`).toBe(true);
        for (const e of pipeline.exporters) {
          const exporter = doc.exporters[e];
          expect(exporter?.sending_queue?.storage, `${name} ${e}`).toBe('file_storage/audit');
          expect(exporter?.sending_queue?.block_on_overflow, `${name} ${e}`).toBe(true);
          expect(exporter?.retry_on_failure?.max_elapsed_time, `${name} ${e}`).toBe(0);
        }
      }
    }
  });

  it('the SIEM overlay feeds the SIEM the audit records through a queue of its own that never holds up the sink', () => {
    const base = parse(readFileSync(join(CONFIG_DIR, 'otelcol.yaml'), 'utf8')) as Config;
    const siem = parse(readFileSync(join(CONFIG_DIR, 'otelcol-siem.yaml'), 'utf8')) as Config;
    // The same records as the sink: the audit pipelines' receivers and processors.
    for (const signal of ['logs', 'traces']) {
      const audit = base.service.pipelines[`${signal}/audit`];
      const own = siem.service.pipelines[`${signal}/siem`];
      expect(own?.receivers).toEqual(audit?.receivers);
      expect(own?.processors).toEqual(audit?.processors);
      expect(own?.exporters).toEqual(['otlp_grpc/siem']);
    }
    const exporter = siem.exporters['otlp_grpc/siem'];
    expect(exporter?.sending_queue?.storage).toBe('file_storage/siem');
    expect(exporter?.sending_queue?.block_on_overflow).toBe(false);
    expect(exporter?.retry_on_failure?.max_elapsed_time).toBe(0);
    // A directory of its own, and the merged list of extensions keeps the sink's.
    expect(siem.extensions?.['file_storage/siem']?.directory).toContain('SIEM_QUEUE_DIR');
    expect(siem.service.extensions).toEqual([...(base.service.extensions ?? []), 'file_storage/siem']);
  });
});
