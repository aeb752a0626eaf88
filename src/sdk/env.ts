/** Environment variables as the SDK reads them. */

/** A process environment (or a stand-in for one in tests). */
export type Env = Record<string, string | undefined>;

/** The trimmed value of a variable; `undefined` when it is unset or blank (OpenTelemetry treats both alike). */
export function envText(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}
