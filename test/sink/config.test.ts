import { describe, expect, it } from 'vitest';
import { defaultGapCheckIntervalMs, parseWindow, resolveSinkConfig, SINK_DEFAULTS, withDefaults } from '../../src/sink/config.js';
import { sinkCommand } from '../../src/cli/sink.js';
import { runCommand } from '../helpers/cli-run.js';

describe('withDefaults', () => {
  it('fills each key the options leave undefined, and keeps the options\' own values and other keys', () => {
    const options: { a?: number; b?: string; c?: boolean } = { a: 0, b: undefined, c: false };
    expect(withDefaults(options, { a: 1, b: 'x', c: true })).toEqual({ a: 0, b: 'x', c: false });
    expect(withDefaults({ keep: 'me' } as { keep: string; n?: number }, { n: 7 })).toEqual({ keep: 'me', n: 7 });
  });

  it('leaves the options object as it was', () => {
    const options: { n?: number } = {};
    withDefaults(options, { n: 1 });
    expect(options).toEqual({});
  });
});

describe('resolveSinkConfig', () => {
  it('fills every default of SINK_DEFAULTS, and derives the gap check interval from the window', () => {
    const config = resolveSinkConfig();
    for (const [key, value] of Object.entries(SINK_DEFAULTS)) expect(config[key as keyof typeof SINK_DEFAULTS]).toBe(value);
    expect(config.gapCheckIntervalMs).toBe(defaultGapCheckIntervalMs(SINK_DEFAULTS.gapWindowMs));
  });

  it('keeps given values, passes options without a default through, and holds writers within 1..poolSize', () => {
    const config = resolveSinkConfig({ httpPort: 0, token: 't', poolSize: 3, writers: 8, gapWindowMs: 1000 });
    expect(config).toMatchObject({ httpPort: 0, token: 't', poolSize: 3, writers: 3, gapWindowMs: 1000, gapCheckIntervalMs: 500 });
    expect(resolveSinkConfig({ writers: 0 }).writers).toBe(1);
    expect(resolveSinkConfig({ gapCheckIntervalMs: 42 }).gapCheckIntervalMs).toBe(42);
  });
});

describe('the outbox merge window', () => {
  it('defaults to 30 s and reads 30s, 1500ms, 2m and bare seconds', () => {
    expect(resolveSinkConfig().outboxWindowMs).toBe(30_000);
    expect(resolveSinkConfig({ outboxWindowMs: 1000 }).outboxWindowMs).toBe(1000);
    expect([parseWindow('30s'), parseWindow('1500ms'), parseWindow('2m'), parseWindow('2'), parseWindow(' 0.5s ')]).toEqual([30_000, 1500, 120_000, 2000, 500]);
  });

  it('refuses what is not a positive duration, as a usage error of the sink command', async () => {
    expect(() => parseWindow('soon')).toThrow('"soon" is not a duration like 30s, 1500ms or 2m');
    expect(() => parseWindow('0s')).toThrow('longer than zero');
    const run = await runCommand(sinkCommand, ['--outbox-window', '-5s']);
    expect(run.code).toBe(2);
    expect(run.err).toContain('--outbox-window: "-5s" is not a duration');
  });
});
