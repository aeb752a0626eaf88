import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/app-process.js';
import { REPO } from '../helpers/processes.js';

const run = promisify(execFile);
const spool = tempDir('register-quiet');
afterAll(() => spool.remove());

/** Serves one request to itself, then exits: one audit record, one trace. Prints how long the exit took. */
const APP = `
import { createServer } from 'node:http';
let closedAt;
process.on('exit', () => console.log('EXIT AFTER ' + (Date.now() - closedAt) + ' MS'));
const server = createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', async () => {
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/things/7', { method: 'PUT' });
  await res.text();
  server.close();
  server.closeAllConnections();
  closedAt = Date.now();
});
`;

/** Runs {@link APP} under the register hook with no collector anywhere; `env` adds to a bare environment. */
async function runQuiet(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', './dist/register.js', '--input-type=module', '-e', APP], {
    cwd: REPO,
    env: {
      PATH: process.env['PATH'] ?? '',
      OTEL_SERVICE_NAME: 'quiet-test',
      // Nothing listens there.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_AUDIT_EXPORTER: 'console',
      OTEL_AUDIT_GRACE_MS: '100',
      OTEL_AUDIT_SPOOL_DIR: join(spool.path, 'spool'),
      ...env,
    },
    timeout: 30_000,
  });
}

describe('register hook with no collector, audit records on the console', () => {
  it('starts neither metrics nor logs unless asked: no connection errors, nothing on stderr, exit 0', async () => {
    const { stdout, stderr } = await runQuiet({ OTEL_TRACES_EXPORTER: 'none' });
    expect(stdout).toContain('"audit.action":"thing.update"');
    expect(stderr).toBe('');
    // Delivery is done at once: nothing holds the process open until the shutdown timeout (5 s).
    const exitMs = Number(/EXIT AFTER (\d+) MS/.exec(stdout)?.[1]);
    expect(exitMs).toBeLessThan(3000);
  });

  it('metrics and logs turned off explicitly: no "will not be initialized" lines at the default log level', async () => {
    const { stdout, stderr } = await runQuiet({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
    expect(stdout).toContain('"audit.action":"thing.update"');
    // Informational lines go to stdout (console.info).
    expect(stdout).not.toContain('will not be initialized');
    expect(stderr).toBe('');
  });

  it('a metrics exporter configured explicitly still starts', async () => {
    const { stdout, stderr } = await runQuiet({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'console' });
    expect(stdout).toContain('otel_audit.records.emitted');
    expect(stderr).toBe('');
  });
});
