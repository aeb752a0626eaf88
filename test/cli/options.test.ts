import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from '../../src/cli/options.js';

const SPECS: FlagSpec[] = [
  { flag: 'host', env: ['H'], type: 'string', help: '' },
  { flag: 'grpc-port', env: ['P'], type: 'number', help: '' },
  { flag: 'migrate', env: ['M'], type: 'boolean', help: '' },
];

const parse = (argv: string[], env: Record<string, string> = {}): unknown => {
  try {
    return parseFlags(argv, SPECS, env);
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
};

describe('parseFlags', () => {
  it('reads --flag value, --flag=value, booleans and their negation, else the environment', () => {
    expect(parse(['--host', 'a', '--grpc-port=5', '--migrate'])).toEqual({ host: 'a', grpcPort: 5, migrate: true });
    expect(parse(['--host=a=b', '--no-migrate'])).toEqual({ host: 'a=b', migrate: false });
    expect(parse(['--migrate=false'], { M: '1' })).toEqual({ migrate: false });
    expect(parse(['--migrate=1', '--host='])).toEqual({ migrate: true, host: '' });
    expect(parse([], { H: 'eh', P: '7', M: '0' })).toEqual({ host: 'eh', grpcPort: 7, migrate: false });
  });

  it('a value flag takes the next argument whatever it looks like', () => {
    expect(parse(['--host', '--migrate'])).toEqual({ host: '--migrate' });
  });

  it('refuses unknown flags, arguments that are not flags, missing values and bad numbers', () => {
    expect(parse(['--bogus=1'])).toBe('error: unknown option --bogus');
    expect(parse(['--no-host', 'x'])).toBe('error: unknown option --no-host');
    expect(parse(['--'])).toBe('error: unknown option --');
    expect(parse(['--=x'])).toBe('error: unknown option --');
    expect(parse(['-h'])).toBe('error: unexpected argument "-h"'); // no help flag among these specs
    expect(parse(['-abc'])).toBe('error: unexpected argument "-abc"');
    expect(parse(['--migrate', 'x'])).toBe('error: unexpected argument "x"');
    expect(parse(['--host'])).toBe('error: --host needs a value');
    expect(parse(['--grpc-port', '-1'])).toBe('error: --grpc-port needs a non-negative number, got "-1"');
    expect(parse(['--grpc-port', ''])).toBe('error: --grpc-port needs a non-negative number, got ""');
  });
});
