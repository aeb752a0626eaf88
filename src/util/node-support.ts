/** The oldest Node.js the SDK runs on (OpenTelemetry JS SDK 3.x needs it). */
export const MIN_NODE_VERSION = '22.15.0';

function parts(version: string): [number, number, number] {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10) || 0);
  return [major, minor, patch];
}

/**
 * Why this Node.js cannot run the SDK, in one sentence, or undefined when it
 * can. `version` as in `process.versions.node` (`20.20.2`).
 */
export function unsupportedNodeReason(version: string = process.versions.node): string | undefined {
  const have = parts(version);
  const need = parts(MIN_NODE_VERSION);
  for (let i = 0; i < 3; i++) {
    if (have[i]! > need[i]!) return undefined;
    if (have[i]! < need[i]!) return `Node.js ${version} is not supported (otel-audit needs Node.js ${MIN_NODE_VERSION} or newer)`;
  }
  return undefined;
}

/**
 * True when this Node.js can run the SDK; else says so in one line on
 * stderr (the host goes on, untraced) and returns false.
 */
export function supportedNodeOrSay(version: string = process.versions.node): boolean {
  const reason = unsupportedNodeReason(version);
  if (reason === undefined) return true;
  process.stderr.write(`otel-audit: ${reason}; this process runs without telemetry or audit records\n`);
  return false;
}
