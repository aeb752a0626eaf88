import { describeFrameworkApp } from './framework-checks.js';

const same = (template: string): string => template;

describeFrameworkApp('NestJS on express (ES module) under --import otel-audit/register', { fixture: 'nest-app.mjs', loader: 'import', env: { NEST_ADAPTER: 'express' }, template: same });
describeFrameworkApp('NestJS on fastify (ES module) under --import otel-audit/register', { fixture: 'nest-app.mjs', loader: 'import', env: { NEST_ADAPTER: 'fastify' }, template: same });
describeFrameworkApp('NestJS on express (CommonJS) under --require otel-audit/register', { fixture: 'nest-app.cjs', loader: 'require', env: { NEST_ADAPTER: 'express' }, template: same });
describeFrameworkApp('NestJS on fastify (CommonJS) under --require otel-audit/register', { fixture: 'nest-app.cjs', loader: 'require', env: { NEST_ADAPTER: 'fastify' }, template: same });
