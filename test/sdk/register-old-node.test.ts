import { execFile, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { unsupportedNodeReason } from '../../src/util/node-support.js';
import { tempDir } from '../helpers/app-process.js';
import { REPO } from '../helpers/processes.js';

const run = promisify(execFile);

/** A Node.js older than the SDK supports: the machine's own, when it is one (Debian's is 20 here). */
function oldNode(): { path: string; version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(path)) continue;
    const version = versionOf(path);
    if (version !== undefined && unsupportedNodeReason(version) !== undefined) return { path, version };
  }
  return undefined;
}

function versionOf(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const old = oldNode();
const dir = tempDir('old-node');
afterAll(() => dir.remove());

describe.skipIf(old === undefined)(`the register hook on an unsupported Node.js (${old?.path ?? 'none on this machine'} ${old?.version ?? ''})`, () => {
  for (const [flag, entry, file, source] of [
    ['--require', './dist/register.cjs', 'app.cjs', "require('node:http'); console.log('APP RAN');"],
    ['--import', './dist/register.js', 'app.mjs', "import 'node:http'; console.log('APP RAN');"],
  ] as const) {
    it(`${flag}: says so in one line and the app runs untraced`, async () => {
      const script = join(dir.path, file);
      writeFileSync(script, `${source}\n`);
      const { stdout, stderr } = await run(old!.path, [flag, entry, script], {
        cwd: REPO,
        env: { PATH: '/usr/bin:/bin', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      });
      expect(stdout).toBe('APP RAN\n');
      expect(stderr).toBe(`otel-audit: ${unsupportedNodeReason(old!.version)}; this process runs without telemetry or audit records\n`);
    });
  }
});
