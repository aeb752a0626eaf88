/**
 * Transactional outbox: what audit.inTransaction() adds to a business
 * transaction, and how fast `otel-audit relay` empties the outbox into a
 * real sink. See bench/README.md.
 *
 *   node bench/outbox.ts [--transactions 5000] [--rounds 3] [--rows 50000] [--batch-size 1000] [--concurrency 2] [--write]
 *
 * Part 1, in this process on one pg.Client: a transaction with one business
 * INSERT (BEGIN, INSERT, COMMIT), against the same transaction with
 * audit.inTransaction() before COMMIT; the two alternate in rounds, and the
 * difference of their medians is the outbox's cost per transaction. The
 * SDK is not started: the rows are those of a background job (a row in a
 * request also reads the request's actor).
 *
 * Part 2, real processes: a sink (`node dist/cli.js sink`, merge window
 * 1 s) on a fresh audit database and `node dist/cli.js relay --grace 0s`,
 * idle, then --rows changes committed in the outbox at once; time from that
 * COMMIT until the outbox is empty (every row acknowledged by the sink,
 * which has committed it), and until every record is a row of
 * audit.records.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { audit } from 'otel-audit';
import { COMMON_OPTIONS, commandLine, commonOptions, positive } from './lib/args.ts';
import { startAuditSink } from './lib/audit-sink.ts';
import { startReceiver } from './lib/otlp-receiver.ts';
import { cpuMs } from './lib/cpu.ts';
import { CLI, DEFAULT_PG_URL, dropDatabase, migrateDatabase, recreateDatabase, withClient } from './lib/pg.ts';
import { awaitLine, checkBuild, childEnv, collectOutput, ROOT, stopChild, track } from './lib/proc.ts';
import { fmt, machine, median, mdTable, writeReadme } from './lib/report.ts';
import { runMain } from './lib/proc.ts';

const BUSINESS = 'otel_audit_bench_outbox_business';
const AUDIT = 'otel_audit_bench_outbox_audit';
/** The goal for one relay on this machine. */
const GOAL_RECORDS_PER_S = 5_000;

const USAGE = `Usage: node bench/outbox.ts [options]

Part 1: µs per business transaction (BEGIN, one INSERT, COMMIT) without and
with audit.inTransaction(), alternating, on one connection.
Part 2: records/s of "otel-audit relay" from a filled outbox into a real
sink (fresh databases ${BUSINESS} and ${AUDIT}).

Options:
  --transactions N   transactions per variant and round (default 5000)
  --rounds N         rounds of part 1 (default 3)
  --rows N           outbox rows the relay moves in part 2 (default 50000)
  --batch-size N     the relay's --batch-size (default 1000)
  --concurrency N    the relay's --concurrency (default 2)
  --pg-url URL       Postgres server, without database (default ${DEFAULT_PG_URL})
  --smoke            a tiny run: proves the scenario runs, measures nothing
  --write            replace the results in bench/README.md
  -h, --help         show this help
`;

interface Options {
  transactions: number;
  rounds: number;
  rows: number;
  batchSize: number;
  concurrency: number;
  pgUrl: string;
  write: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      transactions: { type: 'string' },
      rounds: { type: 'string' },
      rows: { type: 'string' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'pg-url': { type: 'string' },
      smoke: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const smoke = values.smoke === true;
  return {
    transactions: positive('transactions', values.transactions, smoke ? 200 : 5_000),
    rounds: positive('rounds', values.rounds, smoke ? 1 : 3),
    rows: positive('rows', values.rows, smoke ? 2_000 : 50_000),
    batchSize: positive('batch-size', values['batch-size'], 1_000),
    concurrency: positive('concurrency', values.concurrency, 2),
    pgUrl: values['pg-url'] ?? DEFAULT_PG_URL,
    write: commonOptions(values).write,
  };
}

/** µs per transaction of `n` transactions, each one business INSERT, with or without the outbox row. */
async function transactions(c: pg.Client, n: number, withOutbox: boolean, offset: number): Promise<number> {
  const t0 = performance.now();
  for (let i = offset; i < offset + n; i++) {
    await c.query('BEGIN');
    await c.query('INSERT INTO items (id, name, price) VALUES ($1, $2, $3)', [i, `item ${i}`, i % 1000]);
    if (withOutbox) {
      await audit.inTransaction(c, { action: 'item.create', resource: { type: 'item', id: i }, after: { id: i, name: `item ${i}`, price: i % 1000 } });
    }
    await c.query('COMMIT');
  }
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * `rows` committed changes in one transaction, visible at once: one written
 * by audit.inTransaction(), the others copies of it with ids of their own.
 */
async function fillOutbox(c: pg.Client, rows: number): Promise<void> {
  await c.query('BEGIN');
  await audit.inTransaction(c, { action: 'item.update', resource: { type: 'item', id: 0 }, before: { price: 0, name: 'item 0' }, after: { price: 1, name: 'item 0' } });
  await c.query(
    `INSERT INTO audit_outbox.records (id, trace_id, span_id, trace_flags, service_name, attributes)
     SELECT gen_random_uuid(), md5('t' || g), substr(md5('s' || g), 1, 16), 0, r.service_name,
            r.attributes || jsonb_build_object('audit.resource.id', g::text,
              'audit.change.before', jsonb_build_object('price', g, 'name', 'item ' || g)::text,
              'audit.change.after', jsonb_build_object('price', g + 1, 'name', 'item ' || g)::text)
       FROM audit_outbox.records r, generate_series(1, $1::int - 1) AS g`,
    [rows],
  );
  await c.query('COMMIT');
}

interface RelayRun {
  /** From the COMMIT of the rows until the outbox was empty. */
  relayMs: number;
  /** Until `stored()` counted every row (0 without it). */
  storedMs: number;
  /** CPU of the relay process meanwhile. */
  relayCpu: number;
}

/** A relay process, idle, then --rows rows committed at once; times until the outbox is empty (and all stored). */
async function relayRun(businessUrl: string, endpoint: string, opts: Options, stored: (() => Promise<number>) | undefined): Promise<RelayRun> {
  const relayArgs = [CLI, 'relay', '--database-url', businessUrl, '--endpoint', endpoint, '--grace', '0s',
    '--batch-size', String(opts.batchSize), '--concurrency', String(opts.concurrency), '--poll-interval', '20ms'];
  const relay = spawn(process.execPath, relayArgs, { cwd: ROOT, env: childEnv((k) => k === 'DATABASE_URL'), stdio: ['ignore', 'pipe', 'pipe'] });
  track(relay);
  const relayOutput = collectOutput(relay);
  await awaitLine(relay, { name: 'the relay', output: relayOutput, timeoutMs: 30_000, timeoutText: () => `the relay did not start\n${relayOutput()}`, match: (l) => (l.includes('otel-audit relay: moving') ? true : undefined) });
  await new Promise((r) => setTimeout(r, 1_000));
  const run: RelayRun = { relayMs: 0, storedMs: 0, relayCpu: 0 };
  await withClient(businessUrl, async (b) => {
    const fillStart = performance.now();
    await fillOutbox(b, opts.rows);
    const t0 = performance.now();
    const cpu0 = cpuMs(relay.pid) ?? 0;
    console.log(`outbox: ${fmt(opts.rows)} rows committed in ${fmt((t0 - fillStart) / 1000, 1)} s`);
    for (;;) {
      if (run.relayMs === 0 && (await count(b, 'SELECT count(*)::int AS n FROM audit_outbox.records')) === 0) {
        run.relayMs = performance.now() - t0;
        run.relayCpu = (cpuMs(relay.pid) ?? 0) - cpu0;
        if (!stored) break;
      }
      if (run.relayMs > 0 && stored && (await stored()) >= opts.rows) {
        run.storedMs = performance.now() - t0;
        break;
      }
      if (relay.exitCode !== null) throw new Error(`the relay exited:\n${relayOutput()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  await stopChild(relay, 15_000);
  console.log(`relay to ${endpoint}: ${fmt(opts.rows)} records acknowledged in ${fmt(run.relayMs / 1000, 2)} s (${fmt((opts.rows * 1000) / run.relayMs)} records/s), CPU ${fmt((run.relayCpu * 1000) / opts.rows, 1)} µs/record`);
  return run;
}

async function count(c: pg.Client, sql: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>(sql);
  return rows[0]?.n ?? 0;
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(CLI);
  const load = os.loadavg()[0] ?? 0;
  const businessUrl = `${opts.pgUrl}/${BUSINESS}`;
  const auditUrl = `${opts.pgUrl}/${AUDIT}`;
  await recreateDatabase(opts.pgUrl, BUSINESS);
  await recreateDatabase(opts.pgUrl, AUDIT);
  migrateDatabase(auditUrl);
  const migrate = spawn(process.execPath, [CLI, 'migrate', '--outbox', '--database-url', businessUrl], { env: childEnv(), stdio: 'ignore' });
  await new Promise((resolve) => migrate.once('exit', resolve));

  // Part 1: the business transaction, without and with the outbox row.
  const plain: number[] = [];
  const outbox: number[] = [];
  await withClient(businessUrl, async (c) => {
    await c.query('CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price int NOT NULL)');
    await transactions(c, Math.min(500, opts.transactions), false, 10_000_000);
    await transactions(c, Math.min(500, opts.transactions), true, 20_000_000);
    for (let r = 0; r < opts.rounds; r++) {
      const base = r * 2 * opts.transactions;
      plain.push(await transactions(c, opts.transactions, false, base));
      outbox.push(await transactions(c, opts.transactions, true, base + opts.transactions));
      console.log(`round ${r + 1}/${opts.rounds}: ${fmt(plain.at(-1) ?? 0, 1)} µs without, ${fmt(outbox.at(-1) ?? 0, 1)} µs with the outbox row`);
    }
    await c.query('DELETE FROM audit_outbox.records');
  });
  const plainUs = median(plain);
  const outboxUs = median(outbox);

  // Part 2: the relay into the real sink, then into a receiver that acknowledges at once (the relay's own limit).
  const sink = await startAuditSink(auditUrl, { extra: ['--outbox-window', '1s'] });
  const intoSink = await withClient(auditUrl, (a) =>
    relayRun(businessUrl, `http://127.0.0.1:${sink.grpcPort}`, opts, () => count(a, "SELECT count(*)::int AS n FROM audit.records WHERE action = 'item.update'")),
  );
  await sink.stop();
  const receiver = await startReceiver(undefined);
  const intoReceiver = await relayRun(businessUrl, `http://127.0.0.1:${receiver.port}`, opts, undefined);
  await receiver.stop();
  const { relayMs, storedMs, relayCpu } = intoSink;
  const rate = (opts.rows * 1000) / relayMs;
  console.log(`relay: ${fmt(opts.rows)} records acknowledged in ${fmt(relayMs / 1000, 2)} s (${fmt(rate)} records/s), ` +
    `all in audit.records after ${fmt(storedMs / 1000, 2)} s (merge window 1 s); relay CPU ${fmt((relayCpu * 1000) / opts.rows, 1)} µs/record`);

  const busy = load > os.availableParallelism() * 0.5;
  const text = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, PostgreSQL on the same machine` +
      ` (load average ${load.toFixed(1)} at the start${busy ? ': the machine was busy with other work, figures are pessimistic' : ''}).`,
    '',
    `Business transaction (BEGIN, one INSERT, COMMIT) on one connection, ${fmt(opts.transactions)} per variant and round, median of ${opts.rounds} rounds:`,
    '',
    ...mdTable(['Variant', 'µs per transaction', 'added by the outbox'], [
      ['without the outbox', fmt(plainUs, 1), ''],
      ['with audit.inTransaction()', fmt(outboxUs, 1), `${fmt(outboxUs - plainUs, 1)} µs (${fmt(((outboxUs - plainUs) / plainUs) * 100, 0)} %)`],
    ]),
    '',
    `Relay: ${fmt(opts.rows)} outbox rows, one relay (--batch-size ${opts.batchSize}, --concurrency ${opts.concurrency}) into one sink:`,
    '',
    ...mdTable(['Measure', 'value', 'goal'], [
      ['records/s acknowledged (outbox empty)', fmt(rate), `≥ ${fmt(GOAL_RECORDS_PER_S)}: ${rate >= GOAL_RECORDS_PER_S ? 'met' : 'missed'}`],
      ['seconds until all rows in audit.records (merge window 1 s)', fmt(storedMs / 1000, 2), ''],
      ['relay CPU µs per record', fmt((relayCpu * 1000) / opts.rows, 1), ''],
      ['records/s into a receiver that acknowledges at once (the relay alone)', fmt((opts.rows * 1000) / intoReceiver.relayMs), ''],
    ]),
  ].join('\n');
  console.log(`\n${text}`);
  await dropDatabase(opts.pgUrl, BUSINESS);
  await dropDatabase(opts.pgUrl, AUDIT);
  if (opts.write) writeReadme(text, 'outbox:results');
  return 0;
}

runMain(main);
