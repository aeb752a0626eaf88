import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerMatches } from '../../src/sink/auth.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

describe('bearerMatches', () => {
  it('accepts only the configured token, whatever the length of what was sent', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer   s3cret ', 's3cret')).toBe(true);
    for (const wrong of ['Bearer s3cre', 'Bearer s3crett', 'Bearer ' + 'x'.repeat(10_000), 'Bearer S3CRET', 's3cret', 'Basic s3cret', '', undefined]) {
      expect(bearerMatches(wrong, 's3cret')).toBe(false);
    }
  });
});

describe('/metrics behind --metrics-token', () => {
  let t: TestSink;
  beforeAll(async () => {
    t = await startTestSink('postgres', { token: 'ingest-token', metricsToken: 'scrape-token' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('needs the metrics token; /healthz and /readyz stay open', async () => {
    const base = `http://127.0.0.1:${t.sink.metricsPort}`;
    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer ingest-token' } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-token' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('otel_audit_sink_records_received_total');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});
