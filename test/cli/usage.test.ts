import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { demoCommand } from '../../src/cli/demo.js';
import { eraseCommand } from '../../src/cli/erase.js';
import { exportCommand } from '../../src/cli/export.js';
import { migrateCommand } from '../../src/cli/migrate.js';
import { USAGE_EXIT } from '../../src/cli/options.js';
import { relayCommand } from '../../src/cli/relay.js';
import { retentionCommand } from '../../src/cli/retention.js';
import { serveCommand } from '../../src/cli/serve.js';
import { sinkCommand } from '../../src/cli/sink.js';
import { spoolCommand } from '../../src/cli/spool.js';
import { verifyCommand } from '../../src/cli/verify.js';
import { REPO } from '../helpers/processes.js';
import { runCommand } from '../helpers/cli-run.js';

const COMMANDS = {
  sink: sinkCommand,
  migrate: migrateCommand,
  export: exportCommand,
  verify: verifyCommand,
  retention: retentionCommand,
  spool: spoolCommand,
  demo: demoCommand,
  serve: serveCommand,
  erase: eraseCommand,
  relay: relayCommand,
} as const;

const run = runCommand;

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(Object.entries(COMMANDS))('otel-audit %s', (name, command) => {
  it('reports a bad flag as a usage error: one message, where to find the usage, exit status 2', async () => {
    const r = await run(command, ['--nope']);
    expect(r.code).toBe(USAGE_EXIT);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^otel-audit ${name}: .*--nope`));
    expect(lines[1]).toBe(`Run "otel-audit ${name} --help" for usage.`);
    expect(lines[2]).toBe('');
  });

  it('prints its usage for -h and --help alike, on stdout, exit status 0', async () => {
    const long = await run(command, ['--help']);
    const short = await run(command, ['-h']);
    expect(long.code).toBe(0);
    expect(long.out).toMatch(/usage/i);
    expect(short).toEqual(long);
  });
});

/** Commands that take --database-url or --data-dir (the sink takes both: the URL wins), with the flags they need besides. */
const DATABASE_COMMANDS: [string, (argv: readonly string[]) => Promise<number>, string[]][] = [
  ['migrate', migrateCommand, []],
  ['export', exportCommand, ['--from', '2026-01-01', '--to', '2026-01-02', '--out', '/nonexistent/x.csv']],
  ['verify', verifyCommand, []],
  ['retention', retentionCommand, ['--keep', '400d']],
  ['demo', demoCommand, []],
];

describe.each(DATABASE_COMMANDS)('otel-audit %s', (name, command, required) => {
  it('reports conflicting database flags as the same usage error', async () => {
    const r = await run(command, [...required, '--data-dir', '/nonexistent', '--database-url', 'postgres://127.0.0.1:1/x']);
    expect(r.code).toBe(USAGE_EXIT);
    expect(r.err).toBe(`otel-audit ${name}: --database-url and --data-dir exclude each other\nRun "otel-audit ${name} --help" for usage.\n`);
  });
});

describe('otel-audit with no command', () => {
  it('is a usage error: the usage on stderr, exit status 2', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^otel-audit: no command given\n\notel-audit .*\n\nUsage: otel-audit <command>/);
  });

  it('--help and -h are not errors', () => {
    for (const flag of ['--help', '-h']) {
      const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), flag], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: otel-audit <command>/);
    }
  });
});
