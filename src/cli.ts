#!/usr/bin/env node
/**
 * `otel-audit` command line. Commands are added as their components land;
 * every command answers `--help`.
 */
import { VERSION } from './sdk/version.js';

const USAGE = `otel-audit ${VERSION}

Usage: otel-audit <command> [options]

Commands:
  help        show this help

Options:
  -h, --help     show help
  -v, --version  show the version

The SDK needs no command: run a service with
  node --import otel-audit/register app.js
`;

export function main(argv: readonly string[]): number {
  const [cmd] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  process.stderr.write(`otel-audit: unknown command "${cmd}"\n\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
