/**
 * Seal and verify: what tamper evidence costs. Loads --rows records into a
 * fresh database, starts the real sink (dist/cli.js sink, a child process)
 * with sealing every second and no settle delay, and measures how long and
 * how much of the sink's CPU it takes until every record is sealed; then runs
 * `otel-audit verify` over them. See bench/README.md.
 *
 *   node bench/seal.ts [--rows 500000] [--pg-url postgres://postgres@127.0.0.1:5432] [--write]
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commandLine, commonOptions, positive } from './lib/args.ts';
import { startAuditSink } from './lib/audit-sink.ts';
import { cpuMs } from './lib/cpu.ts';
import { CLI, DEFAULT_PG_URL, dropDatabase, migrateDatabase, recreateDatabase, withClient } from './lib/pg.ts';
import { checkBuild, childEnv, runMain } from './lib/proc.ts';
import { fmt, machine, mdTable, writeReadme } from './lib/report.ts';

const DATABASE = 'otel_audit_bench_seal';

const USAGE = `Usage: node bench/seal.ts [options]

Loads --rows audit records into a fresh Postgres database (${DATABASE}),
starts "node dist/cli.js sink" on it sealing every second with no settle
delay, waits until every record is sealed, then runs "otel-audit verify".
Reports wall time and CPU per record of both.

Options:
  --rows N        records to load (default 500000)
  --pg-url URL    Postgres server, without database (default ${DEFAULT_PG_URL})
  --write         replace the results in bench/README.md
  -h, --help      show this help
`;

interface Options {
  rows: number;
  pgUrl: string;
  write: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, rows: { type: 'string' }, 'pg-url': { type: 'string' } }, strict: true });
  if (values.help) return undefined;
  return { rows: positive('rows', values.rows, 500_000), pgUrl: values['pg-url'] ?? DEFAULT_PG_URL, write: commonOptions(values).write };
}

/** Records of about 700 bytes: jsonb request and change values, text with quotes and non-ASCII. */
const LOAD_SQL = `
INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type, tenant_id,
  action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip, user_agent,
  duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq)
SELECT md5('t' || g), substr(md5('s' || g), 1, 16), now() - interval '1 day' + g * interval '10 milliseconds',
  'billing', 'billing', 'u-' || (g % 97), 'Zoë "' || (g % 97) || '"', 'user', 't-' || (g % 7), 'invoice.update', 'invoice', 'inv-' || g,
  CASE WHEN g % 11 = 0 THEN 'denied' ELSE 'success' END, 200, 'PUT', '/invoices/:id', '/invoices/' || g,
  ('10.0.' || (g % 200) || '.' || (g % 250))::inet, 'Mozilla/5.0 (X11; Linux x86_64)', (g % 1000) * 0.37, 'full',
  jsonb_build_object('body', jsonb_build_object('amount', g * 0.01, 'currency', 'EUR', 'note', 'réf. ' || g, 'lines', jsonb_build_array(1, 2, 3))),
  jsonb_build_object('amount', g * 0.01, 'status', 'open'), jsonb_build_object('amount', g * 0.02, 'status', 'corrected'),
  jsonb_build_object('audit.meta.reason', 'correction', 'resource', jsonb_build_object('service.name', 'billing', 'host.name', 'node-1')),
  'emitter-1', g
FROM generate_series(1, $1::int) AS g`;

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(CLI);
  const dbUrl = `${opts.pgUrl}/${DATABASE}`;
  await recreateDatabase(opts.pgUrl, DATABASE);
  migrateDatabase(dbUrl);
  const t0 = performance.now();
  await withClient(dbUrl, async (c) => {
    await c.query(LOAD_SQL, [opts.rows]);
    await c.query('VACUUM ANALYZE audit.records');
  });
  console.log(`load: ${fmt(opts.rows)} records in ${fmt((performance.now() - t0) / 1000, 1)} s`);

  // Sealing inside the real sink, timed from its start (its CPU time counts from 0).
  const sealStart = performance.now();
  const sink = await startAuditSink(dbUrl, { extra: ['--seal-interval-ms', '1000', '--seal-settle-ms', '0'] });
  let sealed = 0;
  await withClient(dbUrl, async (c) => {
    for (;;) {
      const { rows } = await c.query<{ sealed: string }>(`SELECT coalesce(sum(row_count), 0)::text AS sealed FROM audit.digests WHERE kind = 'seal'`);
      sealed = Number(rows[0]?.sealed ?? 0);
      if (sealed >= opts.rows) break;
      if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  const sealWallMs = performance.now() - sealStart;
  const sealCpuMs = cpuMs(sink.child.pid) ?? 0;
  await sink.stop();
  console.log(`seal: ${fmt(sealed)} records in ${fmt(sealWallMs / 1000, 1)} s, sink CPU ${fmt(sealCpuMs / 1000, 1)} s`);

  // Verification by the real command.
  const verifyStart = performance.now();
  const verify = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, CLI, 'verify', '--database-url', dbUrl, '--no-record'], { encoding: 'utf8', env: childEnv() });
  const verifyWallMs = performance.now() - verifyStart;
  if (verify.status !== 0) throw new Error(`otel-audit verify failed (${verify.status}):\n${verify.stdout}${verify.stderr}`);
  const [user, sys] = (verify.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number);
  const verifyCpuMs = ((user ?? 0) + (sys ?? 0)) * 1000;
  console.log(`verify: ${fmt(opts.rows)} records in ${fmt(verifyWallMs / 1000, 1)} s, CPU ${fmt(verifyCpuMs / 1000, 1)} s\n${verify.stdout}`);

  const perRow = (ms: number): string => fmt((ms * 1000) / opts.rows, 1);
  const lines = [
    ['sink seals (every 1 s, no settle delay)', fmt((opts.rows * 1000) / sealWallMs), perRow(sealWallMs), perRow(sealCpuMs)],
    ['otel-audit verify', fmt((opts.rows * 1000) / verifyWallMs), perRow(verifyWallMs), perRow(verifyCpuMs)],
  ];
  const text = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, PostgreSQL on the same machine; ${fmt(opts.rows)} records of about 700 bytes.`,
    '',
    ...mdTable(['Run', 'records/s', 'wall µs/record', 'CPU µs/record (the process)'], lines),
  ].join('\n');
  console.log(`\n${text}`);
  await dropDatabase(opts.pgUrl, DATABASE);
  if (opts.write) writeReadme(text, 'seal:results');
  return 0;
}

runMain(main);
