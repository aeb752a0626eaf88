import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { frameworksLoadedEarly } from '../../src/sdk/loaded-early.js';
import { REPO } from '../helpers/processes.js';

const run = promisify(execFile);

describe('frameworksLoadedEarly', () => {
  it('finds the instrumented frameworks among loaded files, not built-ins, not look-alikes', () => {
    const loaded = ['/app/node_modules/express/index.js', '/app/node_modules/@koa/router/lib/router.js', '/app/node_modules/express-session/index.js', '/app/src/fastify.js'];
    expect(frameworksLoadedEarly(['http', 'https', 'express', 'fastify', '@koa/router'], loaded)).toEqual(['express', '@koa/router']);
    expect(frameworksLoadedEarly(['express'], ['/app/node_modules/express-session/index.js'])).toEqual([]);
  });
});

const APPS = {
  'static import (ESM)': 'start-after-import.mjs',
  'require before start (CommonJS)': 'start-after-require.cjs',
  'dynamic import after start (ESM)': 'start-then-import.mjs',
} as const;

async function runApp(name: keyof typeof APPS): Promise<{ emitted: number; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [join(REPO, 'test', 'fixtures', APPS[name])], { cwd: REPO, env: { PATH: process.env['PATH'] ?? '' } });
  return { emitted: (JSON.parse(stdout) as { emitted: number }).emitted, stderr };
}

const WARNING = /^otel-audit: express was loaded before startAudit\(\), so its requests are not audited\. Start with `node --import otel-audit\/register app\.js`/;

describe('startAudit() after the framework was loaded', () => {
  for (const name of ['static import (ESM)', 'require before start (CommonJS)'] as const) {
    it(`${name}: records nothing, and says so once on stderr`, async () => {
      const { emitted, stderr } = await runApp(name);
      expect(emitted).toBe(0);
      expect(stderr.split('\n').filter((l) => WARNING.test(l))).toHaveLength(1);
    });
  }

  it('dynamic import after start: records the request, no warning', async () => {
    const { emitted, stderr } = await runApp('dynamic import after start (ESM)');
    expect(emitted).toBe(1);
    expect(stderr).not.toMatch(/loaded before startAudit/);
  });
});
