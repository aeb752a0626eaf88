/**
 * Audit records full of personal data, for the tests of encrypted personal
 * fields: who they are about, the OTLP log record, what each encryptable
 * column holds in clear, and an export of them read back.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportRecords } from '../../src/compliance/export.js';
import type { KeyProvider } from '../../src/crypto/kek.js';
import type { Database } from '../../src/db/database.js';
import { str, type LogSpec } from './otlp-logs.js';

export interface Person {
  id: string;
  name: string;
  ip: string;
  agent: string;
  /** The tenant the person acts for, if any. */
  tenant?: string;
}
export const ALICE: Person = { id: 'u-1', name: 'alice', ip: '203.0.113.7', agent: 'curl/8.5 alice-laptop' };
export const BOB: Person = { id: 'u-2', name: 'bob', ip: '2001:db8::42', agent: 'Mozilla/5.0 bob' };

/** The text without its base64url ciphertexts (random: they may spell "u-1" or "bob" by chance). */
export const withoutCiphertexts = (text: string): string => text.replace(/enc:v2:[0-9a-f]+:[\w-]+:[\w-]+/g, 'enc:v2:…');

/** The `n`th record (1 to 255): `p` updates user `n`. */
export function personalRecord(p: Person, n: number): LogSpec {
  return {
    traceId: `${'ab'.repeat(15)}${n.toString(16).padStart(2, '0')}`,
    spanId: `${'cd'.repeat(7)}${n.toString(16).padStart(2, '0')}`,
    attributes: [
      str('audit.action', 'user.update'),
      str('audit.actor.id', p.id),
      str('audit.actor.name', p.name),
      str('audit.actor.type', 'user'),
      ...(p.tenant === undefined ? [] : [str('audit.tenant.id', p.tenant)]),
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

/** What each encryptable column of {@link personalRecord} holds in clear. */
export function personalFields(p: Person, n: number): Record<string, unknown> {
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

/** A new random key-encryption key in `dir`/`name`, as 64 hex digits. */
export function newKeyFile(dir: string, name: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`);
  return file;
}

/** Every record of the service `write-path` exported as JSON lines to `dir`/`name` (decrypted with `kek`), read back. */
export async function exportPersonal(
  db: Database,
  dir: string,
  name: string,
  options: { kek?: KeyProvider; actors?: string[] } = {},
): Promise<Record<string, unknown>[]> {
  const out = join(dir, name);
  await exportRecords(db, {
    from: '2000-01-01',
    to: '2100-01-01',
    format: 'jsonl',
    out,
    actor: 'tester',
    ...(options.kek ? { kek: options.kek } : {}),
    ...(options.actors ? { filters: { actor_id: options.actors } } : {}),
  });
  return readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['service_name'] === 'write-path');
}
