import { describeFrameworkApp } from './framework-checks.js';

// hapi names parameters in braces; the record keeps hapi's template.
const hapi = (template: string): string => template.replace(/:(\w+)/g, '{$1}');

describeFrameworkApp('hapi (ES module) under --import otel-audit/register', {
  fixture: 'hapi-app.mjs',
  loader: 'import',
  template: hapi,
  // A Boom error, and an error thrown by a route extension.
  errors: [
    { path: '/boom-boom', message: 'ledger unavailable' },
    { path: '/boom-pre', message: 'pre-handler check failed' },
  ],
  // Refused by authentication before any handler: still named by its route.
  denied: [{ path: '/vaults/hello-world', route: '/vaults/{vaultId}', action: 'vault.read', resourceId: 'hello-world' }],
});
describeFrameworkApp('hapi (CommonJS) under --require otel-audit/register', { fixture: 'hapi-app.cjs', loader: 'require', template: hapi });
