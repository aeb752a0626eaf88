/**
 * What one authenticated encryption costs in Node's crypto API, step by
 * step: the floor under the sink's encryption of personal fields
 * (sink-encryption). AES-256-GCM with a KeyObject, as the sink seals a
 * record's envelope (src/crypto/record-cipher.ts): create the cipher, set
 * the associated data, update, final, the tag, base64url. Then whole
 * messages of several lengths, six small fields one cipher each (format v1)
 * against one message holding them (format v2), and WebCrypto.
 * CPU time per message, the fastest of alternating rounds.
 *
 *   node bench/aead-calls.ts [--rounds 5] [--ms 300] [--write]
 */
import { createCipheriv, createSecretKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { positive } from './lib/args.ts';
import { runMain } from './lib/proc.ts';
import { fmt, machine, mdTable, textTable, writeReadme } from './lib/report.ts';

/** A record's encrypted fields as the sink-ingest records fill them (about 330 bytes of JSON). */
const FIELDS = {
  actor_name: 'User Number 12',
  client_ip: '10.0.3.4',
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  request: { body: { items: [{ sku: 'SKU-10442', quantity: 2 }], currency: 'EUR', note: 'leave at the door' } },
};

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU µs per call of `f` over at least `ms` of wall time (in chunks of 1,000 calls). */
function slice(f: () => unknown, ms: number): number {
  let n = 0;
  const c0 = cpuUs();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 1000; i++) f();
    n += 1000;
  }
  return (cpuUs() - c0) / n;
}

/** CPU µs per message of `n` awaited in parallel batches of 1,000 (WebCrypto runs them on the thread pool). */
async function sliceAsync(f: () => Promise<unknown>, ms: number): Promise<number> {
  let n = 0;
  const c0 = cpuUs();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await Promise.all(Array.from({ length: 1000 }, f));
    n += 1000;
  }
  return (cpuUs() - c0) / n;
}

interface Case {
  name: string;
  run: () => unknown;
}

function gcmCases(key: KeyObject): Case[] {
  const iv = randomBytes(12);
  const aad = Buffer.from('otel-audit record\0v2\0kid\0trace/span');
  const text = JSON.stringify(FIELDS);
  const gcm = () => createCipheriv('aes-256-gcm', key, iv);
  const message = (pt: string) => () => {
    const c = gcm();
    c.setAAD(aad);
    const head = c.update(pt, 'utf8');
    c.final();
    return Buffer.concat([head, c.getAuthTag()]).toString('base64url');
  };
  const fieldTexts = Object.values(FIELDS).map((v) => JSON.stringify(v));
  return [
    { name: 'createCipheriv', run: gcm },
    { name: '+ setAAD', run: () => gcm().setAAD(aad) },
    {
      name: '+ update (~330 bytes)',
      run: () => {
        const c = gcm();
        c.setAAD(aad);
        return c.update(text, 'utf8');
      },
    },
    {
      name: '+ final',
      run: () => {
        const c = gcm();
        c.setAAD(aad);
        c.update(text, 'utf8');
        return c.final();
      },
    },
    {
      name: '+ getAuthTag',
      run: () => {
        const c = gcm();
        c.setAAD(aad);
        c.update(text, 'utf8');
        c.final();
        return c.getAuthTag();
      },
    },
    { name: '+ base64url: one record (format v2)', run: message(text) },
    { name: 'a 16-byte message', run: message('x'.repeat(16)) },
    { name: 'a 3,000-byte message', run: message('x'.repeat(3000)) },
    { name: `${fieldTexts.length} fields, a message each (format v1)`, run: () => fieldTexts.map((t) => message(t)()) },
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' }, write: { type: 'boolean' } } });
  const rounds = positive('rounds', values.rounds, 5);
  const ms = positive('ms', values.ms, 300);
  const key = createSecretKey(randomBytes(32));
  const cases = gcmCases(key);
  const best = cases.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      best[i] = Math.min(best[i] as number, slice(c.run, ms));
    });
  }
  const subtleKey = await webcrypto.subtle.importKey('raw', randomBytes(32), 'AES-GCM', false, ['encrypt']);
  const plain = Buffer.from(JSON.stringify(FIELDS));
  let subtle = Infinity;
  for (let r = 0; r < rounds; r++) {
    subtle = Math.min(subtle, await sliceAsync(() => webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: randomBytes(12) }, subtleKey, plain), ms));
  }
  const rows = [...cases.map((c, i) => [c.name, fmt(best[i] as number, 2)]), ['WebCrypto subtle.encrypt, one record', fmt(subtle, 2)]];
  const header = ['AES-256-GCM (KeyObject), cumulative steps, then whole messages', 'CPU µs'];
  const intro = `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}; CPU time per call or message, the fastest of ${rounds} alternating rounds of ${ms} ms.`;
  console.log(`${intro}\n`);
  for (const l of textTable(header, rows)) console.log(l);
  if (values.write === true) writeReadme([intro, '', ...mdTable(header, rows)].join('\n'), 'aead-calls');
  return 0;
}

runMain(main);
