import { createSecretKey, randomBytes } from 'node:crypto';
import { it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { localKeyProvider } from '../src/crypto/kek.js';
import { DEFAULT_ENCRYPTED_COLUMNS } from '../src/crypto/encryption-config.js';
import { loadIndexKey } from '../src/crypto/index-key.js';
import { liveKeys } from '../src/crypto/subject-keys.js';
import { sealFields } from '../src/crypto/record-cipher.js';
import { RowEncryptor } from '../src/sink/row-encryption.js';
import { keysOf } from '../src/sink/batch-store.js';
import type { AuditRow } from '../src/sink/row.js';
import { openTestBackend } from './helpers/pg.js';

const UAS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'okhttp/4.12.0'];
let seq = 0;
function rows(n: number): AuditRow[] {
  return Array.from({ length: n }, (_, i) => { const a = (seq++ * 7919) % 5000; return {
    traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), occurredAt: '2026-11-21T12:00:00.123456Z',
    serviceName: 'orders-api', module: 'orders', actorId: `user-${a}`, actorName: `User Number ${a}`, actorType: 'user', tenantId: 'tenant-1',
    action: 'order.create', resourceType: 'order', resourceId: String(i), outcome: 'success', statusCode: 201, httpMethod: 'POST', httpRoute: '/orders',
    urlPath: '/orders', clientIp: `10.0.${i % 250}.${a % 250}`, userAgent: UAS[i % 2] as string, durationMs: 3.2, level: 'full',
    request: i % 3 === 0 ? { body: { items: [{ sku: 'SKU-10442', quantity: 2 }, { sku: 'SKU-20017', quantity: 1 }], currency: 'EUR', note: 'leave at the door' } } : null,
    changeBefore: null, changeAfter: null,
    attributes: { 'audit.emitter.id': 'e', scope: { name: 'otel-audit', version: '0.1.0' }, resource: { 'service.name': 'orders-api' } },
    emitterId: 'e-1', emitterSeq: String(i),
  }; }) as AuditRow[];
}

it('cost', async () => {
  const b = await openTestBackend('postgres', 2);
  await migrate(b.db);
  const kek = localKeyProvider(randomBytes(32));
  const enc = new RowEncryptor({ kek, columns: DEFAULT_ENCRYPTED_COLUMNS, subject: 'actor' }, (await loadIndexKey(b.db, kek, true)) as Buffer);
  const batches = Array.from({ length: 20 }, () => rows(1000));
  const unwrapped = new Map<string, Buffer>();
  const ko = createSecretKey(randomBytes(32));
  const steps: [string, (r: AuditRow[]) => Promise<unknown>][] = [
    ['encrypt', (r) => enc.encrypt(b.db, r)],
    ['subjects+liveKeys', async (r) => { const s = r.map((x) => enc.subjectOf(x)); return liveKeys(b.db, kek, [...new Set(s)], unwrapped); }],
    ['seal', async (r) => r.map((row) => sealFields(ko, 'abcdef0123456789', { actor_name: row.actorName, client_ip: row.clientIp, user_agent: row.userAgent, ...(row.request ? { request: row.request } : {}) }, `${row.traceId}/${row.spanId}`))],
    ['hash', async (r) => keysOf(r)],
    ['hmac', async (r) => keysOf(r, enc.hashKey)],
  ];
  for (const [, f] of steps) for (const r of batches) await f(r);
  for (let round = 0; round < 3; round++) {
    const line: string[] = [];
    for (const [name, f] of steps) {
      const t = process.cpuUsage();
      for (const r of batches) await f(r);
      const u = process.cpuUsage(t);
      line.push(`${name} ${((u.user + u.system) / 20000).toFixed(2)}`);
    }
    console.log(line.join(' | '));
  }
  await b.teardown();
}, 600_000);
