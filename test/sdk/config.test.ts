import { describe, expect, it } from 'vitest';
import { DEFAULT_IGNORE, defaultAuditEndpoint, loadConfigModule, parseMap, resolveConfig } from '../../src/sdk/config.js';
import { DEFAULT_STATIC_EXTENSIONS } from '../../src/sdk/quiet-requests.js';
import { FIXTURES } from '../helpers/app-process.js';

describe('resolveConfig', () => {
  it('defaults', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject({
      exporter: 'otlp',
      endpoint: 'http://localhost:4317',
      defaultLevel: 'full',
      defaultModule: 'core',
      maxValueBytes: 4096,
      queueSize: 10_000,
      spoolMaxBytes: 104_857_600,
      jwtClaims: { id: 'sub', name: 'preferred_username', tenant: 'tenant_id' },
    });
    expect(c.ignore).toEqual(DEFAULT_IGNORE);
    expect(c.spoolDir.endsWith('.otel-audit/spool')).toBe(true);
  });

  it('text bodies are not captured unless asked for (option, or OTEL_AUDIT_CAPTURE_TEXT_BODIES)', () => {
    expect(resolveConfig({}, {}).captureTextBodies).toBe(false);
    expect(resolveConfig({}, { OTEL_AUDIT_CAPTURE_TEXT_BODIES: 'true' }).captureTextBodies).toBe(true);
    expect(resolveConfig({}, { OTEL_AUDIT_CAPTURE_TEXT_BODIES: 'maybe' }).captureTextBodies).toBe(false);
    expect(resolveConfig({ captureTextBodies: false }, { OTEL_AUDIT_CAPTURE_TEXT_BODIES: '1' }).captureTextBodies).toBe(false);
    expect(resolveConfig({ captureTextBodies: true }, {}).captureTextBodies).toBe(true);
  });

  it('preflights are not audited unless asked for (option, or OTEL_AUDIT_AUDIT_PREFLIGHT)', () => {
    expect(resolveConfig({}, {}).auditPreflight).toBe(false);
    expect(resolveConfig({}, { OTEL_AUDIT_AUDIT_PREFLIGHT: 'true' }).auditPreflight).toBe(true);
    expect(resolveConfig({ auditPreflight: false }, { OTEL_AUDIT_AUDIT_PREFLIGHT: 'true' }).auditPreflight).toBe(false);
  });

  it('static extensions: the default list, OTEL_AUDIT_STATIC_EXTENSIONS replacing it (blank = none), the option winning', () => {
    expect(resolveConfig({}, {}).staticExtensions).toEqual(DEFAULT_STATIC_EXTENSIONS);
    expect(DEFAULT_STATIC_EXTENSIONS).toEqual(expect.arrayContaining(['js', 'css', 'png', 'woff2']));
    expect(DEFAULT_STATIC_EXTENSIONS).not.toEqual(expect.arrayContaining(['json']));
    expect(resolveConfig({}, { OTEL_AUDIT_STATIC_EXTENSIONS: '.PDF, zip' }).staticExtensions).toEqual(['pdf', 'zip']);
    expect(resolveConfig({}, { OTEL_AUDIT_STATIC_EXTENSIONS: '' }).staticExtensions).toEqual([]);
    expect(resolveConfig({}, { OTEL_AUDIT_STATIC_EXTENSIONS: '  ' }).staticExtensions).toEqual([]);
    expect(resolveConfig({ staticExtensions: ['.Js'] }, { OTEL_AUDIT_STATIC_EXTENSIONS: '' }).staticExtensions).toEqual(['js']);
  });

  it('reads OTEL_AUDIT_* and the standard endpoint variables; options win', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      OTEL_AUDIT_LEVELS: '/admin/*=minimal, /internal/*=ignore, /bad=nope',
      OTEL_AUDIT_MODULES: '/api/jenkins/*=jenkins',
      OTEL_AUDIT_JWT_CLAIMS: 'id=uid,tenant=org.id',
      OTEL_AUDIT_ACTOR_HEADER: 'X-User-Id',
      OTEL_AUDIT_QUEUE_SIZE: 'many',
      OTEL_AUDIT_IGNORE: '/ping',
      OTEL_AUDIT_REDACT_KEYS: 'ssn,otp',
    };
    const c = resolveConfig({ defaultModule: 'platform', redactKeys: ['pin'] }, env);
    expect(c.endpoint).toBe('http://collector:4317');
    expect(c.levels).toEqual({ '/admin/*': 'minimal', '/internal/*': 'ignore' });
    expect(c.modules).toEqual({ '/api/jenkins/*': 'jenkins' });
    expect(c.jwtClaims).toEqual({ id: 'uid', name: 'preferred_username', tenant: 'org.id' });
    expect(c.actorHeader).toBe('x-user-id');
    expect(c.queueSize).toBe(10_000);
    expect(c.ignore).toEqual(['/ping']);
    expect(c.redactKeys).toEqual(['ssn', 'otp', 'pin']);
    expect(c.defaultModule).toBe('platform');
    expect(resolveConfig({}, { ...env, OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT: 'http://sink:4317' }).endpoint).toBe('http://sink:4317');
  });

  it('the logs endpoint wins over the general one, as the SDK would use it', () => {
    expect(defaultAuditEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4317', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://b:4317' })).toBe('http://b:4317');
  });

  it('parseMap skips malformed entries', () => {
    expect(parseMap('a=1,=2,b=,c=3', 'X')).toEqual({ a: '1', c: '3' });
  });

  it('loads the config module synchronously', () => {
    const opts = loadConfigModule(`${FIXTURES}audit-config.cjs`);
    expect(opts.routes?.length).toBe(4);
    expect(typeof opts.actor).toBe('function');
    expect(() => loadConfigModule('/nonexistent/config.cjs')).toThrow();
  });
});
