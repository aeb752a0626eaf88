/** Two people whose records carry every personal field, what those fields hold in clear, and a sink that encrypts them. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { loadKeyProvider, type KeyProvider } from '../../src/crypto/kek.js';
import type { SinkOptions } from '../../src/sink/types.js';
import { str, type LogSpec } from '../helpers/otlp-logs.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

export const ALL_COLUMNS = Object.keys(ENCRYPTABLE).join(',');

export interface Person {
  id: string;
  name: string;
  ip: string;
  agent: string;
}
export const ALICE: Person = { id: 'u-1', name: 'alice', ip: '203.0.113.7', agent: 'curl/8.5 alice-laptop' };
export const BOB: Person = { id: 'u-2', name: 'bob', ip: '2001:db8::42', agent: 'Mozilla/5.0 bob' };

export function record(p: Person, n: number): LogSpec {
  return {
    traceId: `${'ab'.repeat(15)}${n.toString(16).padStart(2, '0')}`,
    spanId: `${'cd'.repeat(7)}${n.toString(16).padStart(2, '0')}`,
    attributes: [
      str('audit.action', 'user.update'),
      str('audit.actor.id', p.id),
      str('audit.actor.name', p.name),
      str('audit.actor.type', 'user'),
      str('audit.resource.type', 'user'),
      str('audit.resource.id', String(n)),
      str('audit.outcome', 'success'),
      str('url.path', `/users/${n}/${p.name}`),
      str('client.address', p.ip),
      str('user_agent.original', p.agent),
      str('audit.request', JSON.stringify({ body: { email: `${p.name}@example.com`, n } })),
      str('audit.change.before', JSON.stringify({ name: `${p.name}-old` })),
      str('audit.change.after', JSON.stringify({ name: p.name, tags: ['x', n] })),
    ],
  };
}

/** What each encrypted column of the person's record holds in clear. */
export function expected(p: Person, n: number): Record<string, unknown> {
  return {
    actor_id: p.id,
    actor_name: p.name,
    client_ip: p.ip,
    user_agent: p.agent,
    url_path: `/users/${n}/${p.name}`,
    request: { body: { email: `${p.name}@example.com`, n } },
    change_before: { name: `${p.name}-old` },
    change_after: { name: p.name, tags: ['x', n] },
  };
}

/** A sink that encrypts (default columns unless told), with its key-encryption key and a directory of its own. */
export interface EncryptedSink {
  sink: TestSink;
  kek: KeyProvider;
  keyFile: string;
  /** A temporary directory for the test's files (the key file is in it); removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export async function startEncryptedSink(backend: 'postgres' | 'pglite', options: SinkOptions = {}): Promise<EncryptedSink> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-encrypted-'));
  const keyFile = join(dir, 'kek');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`);
  const kek = loadKeyProvider({ file: keyFile }) as KeyProvider;
  try {
    const sink = await startTestSink(backend, { encryptionKeyFile: keyFile, sealIntervalMs: 0, ...(backend === 'pglite' ? { env: {} } : {}), ...options });
    return {
      sink,
      kek,
      keyFile,
      dir,
      async stop() {
        await sink.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
