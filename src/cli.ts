#!/usr/bin/env node
/**
 * `otel-audit` command line. Every command answers `--help`.
 */
import { demoCommand } from './cli/demo.js';
import { eraseCommand } from './cli/erase.js';
import { exportCommand } from './cli/export.js';
import { migrateCommand } from './cli/migrate.js';
import { relayCommand } from './cli/relay.js';
import { retentionCommand } from './cli/retention.js';
import { serveCommand } from './cli/serve.js';
import { sinkCommand } from './cli/sink.js';
import { spoolCommand } from './cli/spool.js';
import { verifyCommand } from './cli/verify.js';
import { VERSION } from './contract/version.js';

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  sink: { run: sinkCommand, summary: 'OTLP receiver that writes audit records to Postgres' },
  migrate: { run: migrateCommand, summary: 'apply the database migrations and exit (--outbox: the outbox of a business database)' },
  relay: { run: relayCommand, summary: 'transactional outbox: send the audit records written in business transactions' },
  export: { run: exportCommand, summary: 'audit records of a time range as CSV or JSON lines, with a verified manifest' },
  verify: { run: verifyCommand, summary: 'check the tamper-evidence chain and every sealed record' },
  retention: { run: retentionCommand, summary: 'drop whole sealed partitions older than the retention window' },
  erase: { run: eraseCommand, summary: "crypto-shredding: destroy one subject's data key, so its encrypted fields read as erased" },
  serve: { run: serveCommand, summary: 'query API and audit viewer in the browser, access by token and tenant' },
  spool: { run: spoolCommand, summary: 'replay: send the audit records a stopped instance left in its spool directory' },
  demo: { run: demoCommand, summary: 'the whole pipeline on this machine: example service, sink, audit rows' },
};

const USAGE = `otel-audit ${VERSION}

Usage: otel-audit <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run "otel-audit <command> --help" for the options of a command.

The SDK needs no command: run a service with
  node --import otel-audit/register app.js
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // No command is a usage error: scripts that forgot one must not pass.
    process.stderr.write(`otel-audit: no command given\n\n${USAGE}`);
    return 2;
  }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[cmd];
  if (!command) {
    process.stderr.write(`otel-audit: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`otel-audit: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
