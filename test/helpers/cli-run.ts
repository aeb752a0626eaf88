import { vi } from 'vitest';

/** What a command printed and returned. */
export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

/** Runs an `otel-audit` command in this process with its stdout and stderr captured. */
export async function runCommand(command: (argv: readonly string[]) => Promise<number>, argv: readonly string[]): Promise<CommandRun> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  try {
    const code = await command(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
