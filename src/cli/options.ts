/**
 * Whether a connection URL carries a password (`postgres://user:secret@host/db`
 * or `?password=`). Unparsable URLs are left to the driver to refuse.
 */
export function urlHasPassword(url: string): boolean {
  try {
    const u = new URL(url);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return /:\/\/[^/@:]*:[^/@]*@/.test(url);
  }
}

/**
 * Warn (one line on stderr) when --database-url carries a password: command
 * lines are visible to other users of the machine (ps, /proc) and kept in
 * shell history.
 */
export function warnPasswordInArgv(name: string | undefined, url: string | undefined): void {
  if (url === undefined || !urlHasPassword(url)) return;
  process.stderr.write(
    `otel-audit${name === undefined ? '' : ` ${name}`}: warning: --database-url holds a password, which other users can read in the process list and shell history; ` +
      'pass the URL in DATABASE_URL or the password in PGPASSWORD (or ~/.pgpass) instead\n',
  );
}

/** A command-line flag that may also come from an environment variable. */
export interface FlagSpec {
  flag: string;
  env?: string[];
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Usage lines of the flags: `--flag <value>   help (env: X; default: Y)`. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const left = `  --${s.flag}${s.type === 'boolean' ? '' : ' <value>'}`;
      const extra = [s.env?.length ? `env: ${s.env.join(', ')}` : '', s.default !== undefined ? `default: ${s.default}` : ''].filter(Boolean).join('; ');
      return `${left.padEnd(30)} ${s.help}${extra ? ` (${extra})` : ''}`;
    })
    .join('\n');
}

/**
 * Parse `--flag value`, `--flag=value` and boolean `--flag` / `--no-flag`;
 * a flag not given falls back to its environment variables. Throws a clear
 * error for unknown flags and bad numbers. A password in `--database-url`
 * on the command line (not from the environment) gets a warning on stderr.
 */
export function parseFlags(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  env: Record<string, string | undefined> = process.env,
  command?: string,
): FlagValues {
  const out: FlagValues = {};
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const set = (spec: FlagSpec, raw: string | boolean): void => {
    if (spec.type === 'number') {
      const n = Number(raw);
      if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${spec.flag} needs a non-negative number, got "${String(raw)}"`);
      out[camel(spec.flag)] = n;
    } else if (spec.type === 'boolean') {
      out[camel(spec.flag)] = raw === true || raw === 'true' || raw === '1';
    } else {
      out[camel(spec.flag)] = String(raw);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const negated = name.startsWith('no-') && byFlag.get(name.slice(3))?.type === 'boolean';
    const spec = byFlag.get(negated ? name.slice(3) : name);
    if (!spec) throw new Error(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      set(spec, negated ? false : value === undefined ? true : value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${spec.flag} needs a value`);
    }
    set(spec, value);
    if (spec.flag === 'database-url') warnPasswordInArgv(command, value);
  }
  for (const spec of specs) {
    if (out[camel(spec.flag)] !== undefined) continue;
    for (const name of spec.env ?? []) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        set(spec, v);
        break;
      }
    }
  }
  return out;
}
