import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashingWriter } from '../../src/compliance/hashing-writer.js';
import { tempDir } from '../helpers/app-process.js';

describe('HashingWriter', () => {
  it('writes what it was given, counts its bytes and hashes them, across buffer refills', () => {
    const dir = tempDir('hashing-writer');
    const file = join(dir.path, 'out.txt');
    const fd = openSync(file, 'w');
    const lines = ['plain,"text"\r\n', 'ünïcødé ☃ 𝄞\n', 'x'.repeat(3 << 20), '\n'];
    const writer = new HashingWriter(fd);
    for (const line of lines) writer.add(line);
    expect(writer.pending).toBeGreaterThan(0);
    writer.flush();
    closeSync(fd);
    const expected = Buffer.from(lines.join(''), 'utf8');
    expect(writer.pending).toBe(0);
    expect(writer.bytes).toBe(expected.length);
    expect(readFileSync(file).equals(expected)).toBe(true);
    expect(writer.digest()).toBe(createHash('sha256').update(expected).digest('hex'));
    dir.remove();
  });
});
