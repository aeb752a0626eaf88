/** Two people whose records carry every personal field, and what those fields hold in clear. */
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { str, type LogSpec } from '../helpers/otlp-logs.js';

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
