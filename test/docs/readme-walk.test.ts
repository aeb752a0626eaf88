import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/pg.js';
import { httpOk, REPO, waitFor } from '../helpers/processes.js';
import { background, checkoutPath, DOCS, freshCopy, sh, shellBlocks, type ShellBlock } from './doc-commands.js';

/**
 * Walks the shell blocks of the docs a newcomer follows, on a fresh copy of
 * this tree, as written. Every block is named here (by its document and
 * first line): walked, checked against the command it documents (synopses
 * with `[optional]` parts), or left out with the reason. A new or changed
 * block fails the first test until it is named.
 */

type Walk = { walk: string } | { synopsis: true } | { skip: string };

const BLOCKS: Record<string, Walk> = {
  'README.md: npm install && npm run demo': { walk: 'demo' },
  'README.md: npm start': { walk: 'by hand' },
  'README.md: OTEL_AUDIT_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 npm run example': { walk: 'by hand' },
  'README.md: otel-audit export --from 2026-01-01 --to 2100-01-01 --format jsonl --out rows.jsonl': { walk: 'by hand' },
  'README.md: curl -s http://127.0.0.1:3000/users/1': { walk: 'by hand' },
  'README.md: export PATH="$PWD/node_modules/.bin:$PATH"': { walk: 'commands in a checkout' },
  'README.md: npm run collector:build': { skip: 'the build runs before the tests (.ci/run); npm run pipeline has its own test, test/e2e/local-pipeline.test.ts' },
  'README.md: npm pack': { walk: 'installation' },
  'README.md: node --import otel-audit/register app.js': { walk: 'installation' },
  'README.md: node --require otel-audit/register app.js': { walk: 'installation' },
  'README.md: otel-audit sink [--grpc-port 4317] [--http-port 4318] [--metrics-port 9464] [--database-url URL | --data-dir DIR]': { synopsis: true },
  'README.md: otel-audit migrate --database-url postgres://owner@db/audit': { walk: 'compliance' },
  'README.md: otel-audit verify [--from 2026-11-01 --to 2026-12-01] [--key public.pem] [--json]': { synopsis: true },
  'README.md: otel-audit export --from 2026-11-01 --to 2026-12-01 --out audit-2026-11.csv': { walk: 'compliance' },
  'README.md: otel-audit retention --keep 400d [--dry-run] [--require-export] [--force]': { synopsis: true },
  "README.md: cat > tokens.json <<'JSON'": { walk: 'viewer' },
  'README.md: otel-audit erase --subject u-123 --encryption-key-file /etc/otel-audit/kek': { synopsis: true },
  'README.md: otel-audit migrate --outbox --database-url postgres://app@db.example.com/shop': { synopsis: true },
  'README.md: otel-audit relay --database-url postgres://app@db.example.com/shop --endpoint http://collector:4317': { synopsis: true },
  'README.md: OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 otel-audit spool replay --dir /mnt/old-pod/otel-audit-spool': { synopsis: true },
  'collector-config/README.md: OTELCOL=$(npm run --silent collector:build -- collector-config/builder.yaml)': { walk: 'collector' },
  'collector-config/README.md: go install go.opentelemetry.io/collector/cmd/builder@v0.158.0': {
    skip: 'the same build as npm run collector:build (walked above), by hand: minutes of Go module downloads',
  },
  'collector-config/README.md: export APM_ENDPOINT=jaeger:4317 APM_INSECURE=true': { walk: 'collector' },
  'collector-config/README.md: export SIEM_ENDPOINT=siem-collector.security:4317 SIEM_QUEUE_DIR=/var/lib/otelcol/siem-queue': { walk: 'collector' },
  'dashboards/README.md: APM_URL=http://jaeger:16686': { walk: 'dashboards' },
  'dashboards/README.md: docker run -p 3000:3000 \\': { skip: 'needs a container daemon and the Grafana image' },
  'bench/README.md: npm run build': { walk: 'benchmarks' },
  'bench/README.md: npm run bench:otlp-decode': { walk: 'benchmarks' },
  'bench/README.md: npm run bench -- aead-calls --rounds 5 --ms 300 --write': { walk: 'benchmarks' },
  'bench/README.md: npm run bench:sink -- --phases sink,copy,latency --copy-procs 2 \\': { walk: 'benchmarks' },
};

const blocks: ShellBlock[] = DOCS.flatMap((doc) => shellBlocks(doc));
const byWalk = (name: string): ShellBlock[] => blocks.filter((b) => (BLOCKS[b.key] as { walk?: string } | undefined)?.walk === name);
const block = (key: string): ShellBlock => {
  const b = blocks.find((x) => x.key === key);
  if (!b) throw new Error(`no block ${key}`);
  return b;
};

describe('the shell blocks of the docs', () => {
  it('are each walked, checked or left out with a reason here, and nothing here is stale', () => {
    expect(blocks.length).toBeGreaterThan(15);
    expect(blocks.filter((b) => !(b.key in BLOCKS)).map((b) => `${b.key} (line ${b.line})`)).toEqual([]);
    expect(Object.keys(BLOCKS).filter((k) => !blocks.some((b) => b.key === k))).toEqual([]);
  });

  it('synopses name only flags their command has', () => {
    const lines = blocks.filter((b) => 'synopsis' in (BLOCKS[b.key] ?? {})).flatMap((b) => b.text.split('\n'));
    // ... and the lines of walked blocks that are not run as written (placeholders such as "...").
    lines.push(...block('README.md: otel-audit migrate --database-url postgres://owner@db/audit').text.split('\n').slice(1));
    let checked = 0;
    for (const line of lines) {
      // Variables set for the command (`NAME=value otel-audit …`) are not part of it.
      const m = /^(?:[A-Z_]+=\S+\s+)*otel-audit ([a-z]+(?: [a-z]+)?)(.*)$/.exec(line.replace(/\s+#.*$/, '').trim());
      if (!m) continue;
      const help = helpOf(m[1]!);
      for (const flag of m[2]!.match(/--[a-z][a-z-]*/g) ?? []) {
        expect(help, `otel-audit ${m[1]} ${flag}`).toContain(flag);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

function helpOf(command: string): string {
  // A command with a subcommand (`spool replay`) has the flags of the subcommand.
  const r = execCli([...command.split(' '), '--help']);
  expect(r.status, `otel-audit ${command} --help`).toBe(0);
  return r.stdout;
}

function execCli(args: string[]): { status: number | null; stdout: string } {
  const r = process.getBuiltinModule('node:child_process').spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

describe('walking the docs on a fresh copy of the tree', () => {
  let copy: ReturnType<typeof freshCopy>;
  let env: Record<string, string>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    copy = freshCopy();
    env = { PATH: checkoutPath(copy.repo) };
    // What npm install does after installing the packages: build, and link the command.
    const prepared = await sh('npm run prepare', copy.repo, env);
    expect(prepared.status, prepared.out).toBe(0);
    db = await createTestDatabase();
  }, 300_000);

  afterAll(async () => {
    await db?.drop();
    copy?.remove();
  });

  const run = async (text: string, cwd: string = copy.repo, extra: Record<string, string> = {}): Promise<string> => {
    const r = await sh(text, cwd, { ...env, ...extra });
    expect(r.status, `${text}\n${r.out}`).toBe(0);
    return r.out;
  };

  it('Quick look: npm run demo prints the rows', async () => {
    const [b] = byWalk('demo');
    // `npm install` is what the fresh copy's set-up did (packages linked, then prepare).
    const out = await run(b!.text.split('\n')[0]!.replace(/^npm install && /, '').replace(/\s+#.*$/, ''));
    expect(out).toContain('audit.records');
    expect(out).toMatch(/user\.create\s+user\/3\s+success\s+201/);
  }, 300_000);

  it('Commands in a checkout: otel-audit is on PATH, on Node.js 24', async () => {
    const out = await run(block('README.md: export PATH="$PWD/node_modules/.bin:$PATH"').text, copy.repo, { PATH: '/usr/bin:/bin' });
    expect(out).toContain('Usage: otel-audit <command>');
  }, 60_000);

  it('Try it by hand: npm start, the example pointed at it, a request, then the rows', async () => {
    const sink = background(block('README.md: npm start').text.trim(), copy.repo, env);
    try {
      await waitFor(async () => ((await httpOk('http://127.0.0.1:9464/readyz')) ? true : undefined), 120_000, () => `sink not ready:\n${sink.output()}`);
      const [exampleLine, curl] = block('README.md: OTEL_AUDIT_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 npm run example').text.split('\n');
      const example = background(exampleLine!, copy.repo, env);
      try {
        await waitFor(async () => ((await httpOk('http://127.0.0.1:3000/healthz')) ? true : undefined), 60_000, () => `example not ready:\n${example.output()}`);
        expect(await run(curl!)).toContain('"name":"carol"');
        const examples = await run(block('README.md: curl -s http://127.0.0.1:3000/users/1').text);
        expect(examples).toContain('"name":"robert"');
        expect(examples).toContain('bad credentials');
      } finally {
        await example.stop();
      }
      // The record left before the example exited; once the sink has it, stop the sink.
      await waitFor(
        async () => ((await (await fetch('http://127.0.0.1:9464/metrics')).text()).match(/^otel_audit_sink_records_written_total\S* [4-9]/m) ? true : undefined),
        30_000,
        () => `no records written:\n${sink.output()}`,
      );
    } finally {
      // Ctrl-C: npm and the sink get it; npm ends on the signal itself.
      expect([0, null]).toContain(await sink.stop());
    }
    await run(block('README.md: otel-audit export --from 2026-01-01 --to 2100-01-01 --format jsonl --out rows.jsonl').text);
    const rows = readFileSync(join(copy.repo, 'rows.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The README's requests, as the example API's table says.
    expect(rows.map((r) => [r['action'], r['actor_id'], r['outcome'], r['status_code']]).sort()).toEqual([
      ['session.create', null, 'denied', 401],
      ['user.create', '1', 'success', 201],
      ['user.read', null, 'success', 200],
      ['user.update', '1', 'success', 200],
    ]);
  }, 300_000);

  it('Installation: a tarball from npm pack installs into a service, and the register hook audits it', async () => {
    const [pack, install] = block('README.md: npm pack').text.split('\n');
    // Written by the service's own package.json (CommonJS): one request to itself, then exit.
    writeFileSync(
      join(copy.service, 'app.js'),
      `const http = require('node:http');
const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  http.get('http://127.0.0.1:' + server.address().port + '/orders/7', (res) => { res.resume(); res.on('end', () => setTimeout(() => server.close(), 300)); });
});
`,
    );
    await run(pack!);
    // From npm's cache where it can: the packages are those this checkout installed.
    await run(install!.replace(/^cd \.\.\/my-service && /, ''), copy.service, { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' });
    for (const key of ['README.md: node --import otel-audit/register app.js', 'README.md: node --require otel-audit/register app.js']) {
      // The service's own Node.js is the checkout's (≥ 22.15); records on stdout for this walk.
      const out = await run(block(key).text.trim(), copy.service, { OTEL_AUDIT_EXPORTER: 'console', OTEL_TRACES_EXPORTER: 'none', OTEL_AUDIT_GRACE_MS: '0' });
      const records = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.map((r) => r['audit.action'])).toEqual(['order.read']);
    }
  }, 600_000);

  it('Compliance: migrate, then the export examples', async () => {
    const extra = { DATABASE_URL: db.url };
    const migrate = block('README.md: otel-audit migrate --database-url postgres://owner@db/audit').text.split('\n')[0]!;
    await run(migrate.replace('postgres://owner@db/audit', db.url));
    const exports = block('README.md: otel-audit export --from 2026-11-01 --to 2026-12-01 --out audit-2026-11.csv').text;
    await run(exports, copy.repo, extra);
    for (const file of ['audit-2026-11.csv', 'denied.jsonl']) expect(existsSync(join(copy.repo, file)), file).toBe(true);
  }, 120_000);

  it('Viewer: tokens file, a role, serve; the token reads the API', async () => {
    const text = block("README.md: cat > tokens.json <<'JSON'").text;
    const lines = text.split('\n');
    const serveAt = lines.findIndex((l) => l.startsWith('otel-audit serve'));
    const pgEnv = { PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: db.name };
    // The role is the cluster's: created once, as the README says, whoever ran this before.
    const exists = await sh(`psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'viewer_acme'"`, copy.repo, { ...env, ...pgEnv });
    const setup = lines.slice(0, serveAt).filter((l) => !(exists.out.trim() === '1' && l.startsWith('psql -c "CREATE ROLE')));
    await run(setup.join('\n'), copy.repo, pgEnv);
    const serve = background(lines[serveAt]!, copy.repo, { ...env, DATABASE_URL: db.url });
    try {
      const token = /#token=(\S+)/.exec(text)![1]!;
      const answered = await waitFor(
        async () => {
          try {
            const res = await fetch('http://127.0.0.1:8080/api/records', { headers: { authorization: `Bearer ${token}` } });
            return res.status;
          } catch {
            return undefined;
          }
        },
        60_000,
        () => `serve not ready:\n${serve.output()}`,
      );
      expect(answered).toBe(200);
    } finally {
      await serve.stop();
    }
  }, 120_000);

  it('collector-config: the build prints its path, and the gateway configuration validates, also with the SIEM overlay', async () => {
    const [build] = byWalk('collector');
    const runLines = [
      'collector-config/README.md: export APM_ENDPOINT=jaeger:4317 APM_INSECURE=true',
      'collector-config/README.md: export SIEM_ENDPOINT=siem-collector.security:4317 SIEM_QUEUE_DIR=/var/lib/otelcol/siem-queue',
    ].flatMap((key) => block(key).text.split('\n').filter((l) => !/^"\$OTELCOL" --config/.test(l)));
    expect(runLines.filter((l) => l.includes('validate'))).toHaveLength(2);
    // The last line of each block runs the gateway until stopped; the end-to-end tests run those configurations.
    const out = await run(`${build!.text}\n${runLines.join('\n')}`);
    expect(out).not.toMatch(/error/i);
  }, 600_000);

  it('dashboards: the jq loop writes the dashboards with the APM URL where docker run mounts them', async () => {
    await run(byWalk('dashboards')[0]!.text);
    const written = readdirSync(join(copy.repo, 'dashboards', 'out')).filter((f) => f.endsWith('.json'));
    expect(written.length).toBeGreaterThanOrEqual(3);
    // The dashboards that link traces have the variable; the loop sets it in each.
    const linking = written.filter((f) => readFileSync(join(copy.repo, 'dashboards', f), 'utf8').includes('"apm_url"'));
    expect(linking.length).toBeGreaterThanOrEqual(2);
    for (const f of linking) {
      const vars = (JSON.parse(readFileSync(join(copy.repo, 'dashboards', 'out', f), 'utf8')) as { templating: { list: { name: string; query: string }[] } }).templating.list;
      expect(vars.find((v) => v.name === 'apm_url')?.query, f).toBe('http://jaeger:16686');
    }
  }, 60_000);

  it('bench: every --help works; every line names an npm script that exists', async () => {
    const scripts = (JSON.parse(readFileSync(join(copy.repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const lines = byWalk('benchmarks').flatMap((b) => b.text.replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
    for (const line of lines) {
      const script = /^npm run ([\w:-]+)/.exec(line)?.[1];
      expect(script && scripts[script], line).toBeTruthy();
      // The benchmarks themselves run by their own commands (.ci/run runs each at smoke size).
      // `npm run build` ran as the copy's prepare step, above.
      if (/ -- --help$/.test(line)) await run(line);
    }
  }, 300_000);
});
