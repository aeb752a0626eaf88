import { describeFrameworkApp } from './framework-checks.js';

const same = (template: string): string => template;
// An HttpException of status 503, and errors thrown by a guard and by a middleware (before the handler).
const errors = [
  { path: '/unavailable', message: 'ledger offline', status: 503 },
  { path: '/guarded', message: 'guard lost its keys' },
  { path: '/middleware-broken', message: 'middleware lost its keys' },
];

describeFrameworkApp('NestJS on express (ES module) under --import otel-audit/register', { fixture: 'nest-app.mjs', loader: 'import', env: { NEST_ADAPTER: 'express' }, template: same, errors });
describeFrameworkApp('NestJS on fastify (ES module) under --import otel-audit/register', { fixture: 'nest-app.mjs', loader: 'import', env: { NEST_ADAPTER: 'fastify' }, template: same, errors });
describeFrameworkApp('NestJS on express (CommonJS) under --require otel-audit/register', { fixture: 'nest-app.cjs', loader: 'require', env: { NEST_ADAPTER: 'express' }, template: same, errors });
describeFrameworkApp('NestJS on fastify (CommonJS) under --require otel-audit/register', { fixture: 'nest-app.cjs', loader: 'require', env: { NEST_ADAPTER: 'fastify' }, template: same, errors });
