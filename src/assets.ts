import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('otel-audit: cannot find the package root');
    dir = up;
  }
  root = dir;
  return dir;
}

/**
 * Path of a file at the root of the installed package (`dist/register.js`,
 * `examples/…`), whether the caller runs from `dist/` or from `src/`.
 */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}

/**
 * Path of a file shipped with the package (OTLP .proto files, SQL
 * migrations). The build copies `src/<path>` to `dist/<path>`; code running
 * from `dist/` (bundled) reads the copy, code running from `src/` (tests)
 * reads the original.
 */
export function assetPath(...segments: string[]): string {
  const base = packageRoot();
  const here = fileURLToPath(import.meta.url);
  const fromDist = here.startsWith(join(base, 'dist') + sep);
  return join(base, fromDist ? 'dist' : 'src', ...segments);
}
