import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

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
 * Parse `--flag value`, `--flag=value` and boolean `--flag` / `--no-flag`
 * (or `--flag=true|1|false|...`); a flag not given falls back to its
 * environment variables. Throws a clear error for unknown flags, arguments
 * that are not flags and bad numbers. A password in `--database-url` on the
 * command line (not from the environment) gets a warning on stderr.
 *
 * The command line is split by `node:util` `parseArgs` (every command uses
 * it); this layer adds the environment, the number checks and the negation.
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
  const options: ParseArgsOptionsConfig = {};
  for (const s of specs) options[s.flag] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
  // Not strict: the tokens are checked here, with this layer's messages.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const helpSpec = byFlag.get('help');
  for (const token of tokens) {
    const arg = argv[token.index] as string;
    // -h is --help, as in every command that parses its flags with parseArgs.
    if (token.kind === 'option' && token.rawName === '-h' && helpSpec?.type === 'boolean' && token.value === undefined) {
      set(helpSpec, true);
      continue;
    }
    if (token.kind !== 'option' || !token.rawName.startsWith('--')) {
      if (token.kind === 'option-terminator') throw new Error('unknown option --');
      throw new Error(`unexpected argument "${arg}"`);
    }
    // The flag as written, up to the first "=" (parseArgs names "--=x" differently).
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const negated = name.startsWith('no-') && byFlag.get(name.slice(3))?.type === 'boolean';
    const spec = byFlag.get(negated ? name.slice(3) : name);
    if (!spec) throw new Error(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      set(spec, negated ? false : inline === undefined ? true : inline);
      continue;
    }
    // A value flag takes the next argument whatever it looks like.
    const value = token.value;
    if (value === undefined) throw new Error(`--${spec.flag} needs a value`);
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

/** The exit status of every command after a usage error. */
export const USAGE_EXIT = 2;

/**
 * A usage error of command `name`, reported the same way by every command:
 * the message and where to find the usage on stderr; returns {@link USAGE_EXIT}.
 */
export function usageError(name: string, message: string): number {
  process.stderr.write(`otel-audit ${name}: ${message}\nRun "otel-audit ${name} --help" for usage.\n`);
  return USAGE_EXIT;
}

/**
 * Parse the flags of command `name` with {@link parseFlags} (flags that may
 * come from the environment). Returns the values, or the exit status when
 * there is nothing more to do: 0 after printing `usage` for `--help`, 2
 * after a usage error.
 */
export function parseFlagCommand(
  name: string,
  argv: readonly string[],
  specs: readonly FlagSpec[],
  usage: string,
  env: Record<string, string | undefined> = process.env,
): { values: FlagValues } | { exit: number } {
  let values: FlagValues;
  try {
    values = parseFlags(argv, specs, env, name);
  } catch (err) {
    return { exit: usageError(name, (err as Error).message) };
  }
  if (values['help']) {
    process.stdout.write(usage);
    return { exit: 0 };
  }
  return { values };
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

type CommandConfig<T extends ParseArgsOptionsConfig> = { args: string[]; options: T & typeof HELP_OPTION; strict: true; allowPositionals: false; allowNegative: boolean };
export type CommandValues<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<CommandConfig<T>>>['values'];

export interface ParseCommandOptions {
  /** Accept `--no-flag` for every boolean flag, which sets it false. Default: false. */
  allowNegative?: boolean;
}

/**
 * Parse the flags of command `name` (its own plus -h/--help), strictly: no
 * positional arguments, no unknown flags. Returns the values, or the exit
 * status when there is nothing more to do: 0 after printing `help`, 2 after
 * a usage error.
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(
  name: string,
  argv: readonly string[],
  options: T,
  help: string,
  config: ParseCommandOptions = {},
): { values: CommandValues<T> } | { exit: number } {
  let values: CommandValues<T>;
  try {
    ({ values } = parseArgs<CommandConfig<T>>({
      args: [...argv],
      options: { ...options, ...HELP_OPTION },
      strict: true,
      allowPositionals: false,
      allowNegative: config.allowNegative ?? false,
    }));
  } catch (err) {
    return { exit: usageError(name, (err as Error).message) };
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(help);
    return { exit: 0 };
  }
  return { values };
}
