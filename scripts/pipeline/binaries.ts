/**
 * The collector and Jaeger binaries of `npm run pipeline`, from the cache
 * that `npm run collector:build` fills (scripts/collector.ts). The pipeline
 * never builds them itself: a first build takes minutes, so it says how.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { collectorPath, GATEWAY_MANIFEST, goExecutable, jaegerPath } from '../collector.ts';

/** The command that builds (and caches) both. */
export const BUILD_COMMAND = 'npm run collector:build';

const HOW = `run "${BUILD_COMMAND}" once (Go >= 1.25; about ten minutes on two cores the first time, then cached under ~/.cache/otel-audit/)`;

export type Binaries = { collector: string; jaeger: string } | { problem: string };

/** The cached binaries, or why they cannot be used and how to build them. */
export function cachedBinaries(): Binaries {
  let go: string;
  try {
    go = goExecutable();
  } catch (err) {
    return { problem: `${(err as Error).message}; then ${HOW}` };
  }
  const collector = collectorPath(GATEWAY_MANIFEST, go);
  const jaeger = jaegerPath(go);
  const missing = [
    existsSync(collector) ? undefined : `the OpenTelemetry Collector (${collector})`,
    existsSync(jaeger) ? undefined : `Jaeger (${jaeger})`,
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    // scripts/collector.ts builds under a lock directory next to the target.
    const underWay = [collector, jaeger].some((bin) => existsSync(`${dirname(bin)}.lock`));
    return { problem: `not built yet: ${missing.join(' and ')}; ${underWay ? `a build is under way (${BUILD_COMMAND} elsewhere): wait for it to finish, or ` : ''}${HOW}` };
  }
  return { collector, jaeger };
}
