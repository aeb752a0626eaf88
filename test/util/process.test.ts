import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processAlive } from '../../src/util/process.js';

describe('processAlive', () => {
  it('is true for a running process and false for one that has exited', () => {
    expect(processAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '']);
    expect(child.status).toBe(0);
    expect(processAlive(child.pid ?? Number.NaN)).toBe(false);
  });

  it('is true for process 1, which always runs (EPERM unless root)', () => {
    // Process 1 always runs; signalling it is refused unless we are root.
    expect(processAlive(1)).toBe(true);
  });
});
