import { readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../src/sdk/delivery/spool.js';
import type { AuditRecord } from '../../src/sdk/record.js';
import { tempDir } from '../helpers/app-process.js';

const dirs: { remove: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function rec(seq: number, observed = 1_700_000_000_000_000_000n + BigInt(seq)): AuditRecord {
  return {
    traceId: seq.toString(16).padStart(32, '0'),
    spanId: '1'.repeat(16),
    traceFlags: 1,
    timeUnixNano: observed.toString(),
    observedTimeUnixNano: observed.toString(),
    attributes: { 'audit.action': 'x.read', 'audit.emitter.seq': seq },
    resource: { 'service.name': 's' },
  };
}
const seqs = (rs: AuditRecord[]): number[] => rs.map((r) => Number(r.attributes['audit.emitter.seq']));

function drain(spool: Spool, batch = 7): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let b = spool.peek(batch); b; b = spool.peek(batch)) {
    out.push(...b.records);
    spool.ack(b);
  }
  return out;
}

describe('Spool', () => {
  it('keeps order across segments and resumes after a restart without resending acknowledged records', () => {
    const d = tempDir('spool');
    dirs.push(d);
    const a = new Spool({ dir: d.path, maxBytes: 10_000_000, ownerId: 'aaaa', segmentBytes: 2_000 });
    a.open();
    expect(a.append(Array.from({ length: 50 }, (_, i) => rec(i + 1)))).toBe(50);
    expect(readdirSync(d.path).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThan(3);
    const first = a.peek(10)!;
    expect(seqs(first.records)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].slice(0, first.records.length));
    a.ack(first);
    const n = first.records.length;
    a.close();
    // Same directory, new process: nothing acknowledged comes back.
    const b = new Spool({ dir: d.path, maxBytes: 10_000_000, ownerId: 'bbbb', segmentBytes: 2_000 });
    b.open();
    expect(seqs(drain(b))).toEqual(Array.from({ length: 50 - n }, (_, i) => i + 1 + n));
    expect(b.isEmpty).toBe(true);
  });

  it('records older than what the spool holds sort first when written as a fresh segment', () => {
    const d = tempDir('spool');
    dirs.push(d);
    const s = new Spool({ dir: d.path, maxBytes: 10_000_000, ownerId: 'cccc' });
    s.open();
    s.append([rec(5), rec(6)]);
    s.append([rec(1), rec(2), rec(3), rec(4)], true);
    expect(seqs(drain(s))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses what does not fit under maxBytes and reports how many were written', () => {
    const d = tempDir('spool');
    dirs.push(d);
    const one = Buffer.byteLength(JSON.stringify(rec(1)) + '\n');
    const s = new Spool({ dir: d.path, maxBytes: one * 3 + 10, ownerId: 'dddd' });
    s.open();
    expect(s.append([rec(1), rec(2), rec(3), rec(4), rec(5)])).toBe(3);
    expect(s.bytes).toBeLessThanOrEqual(one * 3 + 10);
  });

  it('does not claim the segments of a live process, claims those of a dead one, skips a torn last line', () => {
    const d = tempDir('spool');
    dirs.push(d);
    const live = new Spool({ dir: d.path, maxBytes: 1e7, ownerId: 'eeee' });
    live.open();
    live.append([rec(1)]);
    // A process that is gone (pid 2^22 + something unlikely to exist) left a segment with a torn tail.
    const dead = '00000000000000000001-000000-ffff.jsonl';
    writeFileSync(join(d.path, 'ffff.lock'), '4194000');
    writeFileSync(join(d.path, dead), JSON.stringify(rec(7)) + '\n');
    appendFileSync(join(d.path, dead), '{"traceId":"tor');
    const other = new Spool({ dir: d.path, maxBytes: 1e7, ownerId: '9999' });
    other.open();
    const got = drain(other);
    expect(seqs(got)).toEqual([7]);
    expect(other.corruptLines).toBe(1);
    expect(readdirSync(d.path)).not.toContain('ffff.lock');
    // The live one's record is still its own.
    expect(seqs(drain(live))).toEqual([1]);
  });
});
