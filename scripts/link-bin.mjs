// In a checkout, npm links the bins of the dependencies into
// node_modules/.bin but not the package's own: link `otel-audit` there too,
// so that with `PATH=$PWD/node_modules/.bin:$PATH` (which also puts the
// project's Node.js 24 first) the commands of the README work as written.
import { chmodSync, existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist', 'cli.js');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'otel-audit');

if (!existsSync(target)) {
  process.stderr.write(`link-bin: ${relative(root, target)} is missing (run npm run build first)\n`);
  process.exit(1);
}
mkdirSync(binDir, { recursive: true });
try {
  if (lstatSync(link)) unlinkSync(link);
} catch {
  // no link yet
}
symlinkSync(relative(binDir, target), link);
chmodSync(target, 0o755);
