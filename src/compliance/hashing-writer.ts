/**
 * Collects lines as UTF-8 in one reused buffer, hashes it and writes it out
 * (synchronously) when full. A batch is copied out in one synchronous pass,
 * so its strings are garbage before the next await and die young: the heap
 * stays small. Writes go to the page cache; blocking the loop for them costs
 * nothing here, the database keeps computing the next batch meanwhile.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';

/** The buffer's size to start with; it grows for a line that needs more. */
const BUFFER_BYTES = 1 << 20;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;

export class HashingWriter {
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private readonly hash = createHash('sha256');
  /** Bytes written to the file so far. */
  bytes = 0;

  constructor(private readonly fd: number) {}

  /** Bytes added but not written yet. */
  get pending(): number {
    return this.used;
  }

  add(text: string): void {
    const worst = text.length * MAX_UTF8_PER_UNIT;
    if (this.buf.length - this.used < worst) {
      this.flush();
      if (this.buf.length < worst) this.buf = Buffer.allocUnsafe(worst);
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.hash.update(chunk);
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset, chunk.length - offset);
    this.bytes += chunk.length;
    this.used = 0;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
