import { describeFrameworkApp } from './framework-checks.js';

const same = (template: string): string => template;

describeFrameworkApp('restify (ES module) under --import otel-audit/register', {
  fixture: 'restify-app.mjs',
  loader: 'import',
  template: same,
  // An error passed to next() is answered by restify too.
  errors: [{ path: '/boom-next', message: 'queue exploded' }],
});
describeFrameworkApp('restify (CommonJS) under --require otel-audit/register', { fixture: 'restify-app.cjs', loader: 'require', template: same });
