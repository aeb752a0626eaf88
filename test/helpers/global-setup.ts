import { existsSync } from 'node:fs';

// Child-process fixtures load the package through its published entries
// (`otel-audit/register`), which point into dist/. `npm test` builds first.
export default function setup(): void {
  if (!existsSync(new URL('../../dist/register.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does this) before vitest');
  }
}
