import { SpanKind } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditSpanProcessor } from '../../src/sdk/audit-span-processor.js';
import { resolveConfig } from '../../src/sdk/config.js';
import type { AuditRecord } from '../../src/sdk/record.js';
import type { AuditOptions } from '../../src/sdk/types.js';

let provider: TracerProvider | undefined;
afterEach(async () => {
  await provider?.shutdown();
  provider = undefined;
});

/** The records of one GET server span per path, under these options. */
function recordsOf(options: AuditOptions, requests: { path: string; route?: string }[]): AuditRecord[] {
  const records: AuditRecord[] = [];
  const processor = new AuditSpanProcessor({ config: resolveConfig(options, {}), onRecord: (r) => records.push(r) });
  provider = new TracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  for (const { path, route } of requests) {
    const attributes: Record<string, string | number> = { 'http.request.method': 'GET', 'url.path': path, 'http.response.status_code': 200 };
    if (route !== undefined) attributes['http.route'] = route;
    tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes }).end();
  }
  return records;
}

describe('level, ignore and module of a request', () => {
  it('a route rule level beats the ignore list, which beats `levels`, which beats the default', () => {
    const records = recordsOf(
      {
        routes: [{ route: '/ops/keep', level: 'basic' }],
        ignore: ['/ops'],
        levels: { '/ops/*': 'full', '/admin/*': 'minimal' },
        defaultLevel: 'basic',
      },
      [{ path: '/ops/keep' }, { path: '/ops/drop' }, { path: '/admin/x' }, { path: '/other' }],
    );
    expect(records.map((r) => [r.attributes['url.path'], r.attributes['audit.level']])).toEqual([
      ['/ops/keep', 'basic'],
      ['/admin/x', 'minimal'],
      ['/other', 'basic'],
    ]);
  });

  it('an exact level key beats a prefix even when only the path names it (the route is a template)', () => {
    const records = recordsOf({ levels: { '/users/*': 'minimal', '/users/me': 'full' } }, [
      { path: '/users/me', route: '/users/:id' },
      { path: '/users/42', route: '/users/:id' },
    ]);
    expect(records.map((r) => r.attributes['audit.level'])).toEqual(['full', 'minimal']);
  });

  it('a template level key applies to the paths of its route', () => {
    const records = recordsOf({ levels: { '/users/:id': 'minimal' } }, [{ path: '/users/42' }, { path: '/users' }]);
    expect(records.map((r) => r.attributes['audit.level'])).toEqual(['minimal', 'full']);
  });

  it('static files give no record by default; a route rule naming the path wins; an empty list records them', () => {
    const paths = [{ path: '/app.js' }, { path: '/img/logo.PNG' }, { path: '/download/report.pdf' }, { path: '/assets/app.css' }, { path: '/users/1' }, { path: '/report.json' }];
    const routes = [{ route: '/assets/app.css', action: 'asset.read' }];
    expect(recordsOf({ routes, staticExtensions: ['js', 'png', 'css'] }, paths).map((r) => r.attributes['url.path'])).toEqual([
      '/download/report.pdf',
      '/assets/app.css',
      '/users/1',
      '/report.json',
    ]);
    expect(recordsOf({}, paths).map((r) => r.attributes['url.path'])).toEqual(['/download/report.pdf', '/users/1', '/report.json']);
    expect(recordsOf({ staticExtensions: [] }, paths)).toHaveLength(paths.length);
  });

  it('modules follow the same precedence; the route rule module wins', () => {
    const records = recordsOf(
      { routes: [{ route: '/api/jenkins/admin', module: 'ops' }], modules: { '/api/*': 'api', '/api/jenkins/*': 'jenkins' } },
      [{ path: '/api/jenkins/admin' }, { path: '/api/jenkins/jobs/1' }, { path: '/api/users' }, { path: '/web' }],
    );
    expect(records.map((r) => r.attributes['audit.module'])).toEqual(['ops', 'jenkins', 'api', 'core']);
  });
});
