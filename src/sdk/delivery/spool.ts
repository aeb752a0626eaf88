import { diag } from '@opentelemetry/api';
import {
  closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync,
  renameSync, statSync, unlinkSync, writeFileSync, appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../record.js';
import { processAlive } from '../../util/process.js';

export interface SpoolOptions {
  /** Directory of the spool; created when missing. */
  dir: string;
  /** Bound of the spool's size on disk, bytes. */
  maxBytes: number;
  /** Id of this process (the emitter id): names its segments and its lock file. */
  ownerId: string;
  /** A segment is closed once it reaches this size, bytes. Default 4 MiB. */
  segmentBytes?: number;
}

/** What {@link Spool.peek} hands out; give it back to {@link Spool.ack} once delivered. */
export interface SpoolBatch {
  records: AuditRecord[];
  segment: string;
  endOffset: number;
}

const SEGMENT_RE = /^(\d{20})-(\d{6})-([0-9a-f]+)\.jsonl$/;
/** Read at most this much of a segment per peek. */
const READ_CHUNK = 1024 * 1024;

interface Segment {
  name: string;
  size: number;
  offset: number;
}

/**
 * An append-only, bounded disk queue of audit records: JSON lines in
 * segment files ordered by name (the observed time of their first record),
 * with the read position of each segment kept beside it in `<segment>.offset`
 * so that a restart resends nothing that was acknowledged.
 *
 * Several processes may share a directory: each owns the segments named with
 * its id and holds `<id>.lock` (its pid). Segments of processes that are gone
 * are claimed at start-up by renaming them, which only one process can win.
 * All file operations are synchronous, so that a record handed to the spool
 * is on disk before the call returns, even on the way out of a process.
 */
export class Spool {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly ownerId: string;
  private readonly segmentBytes: number;
  private readonly segments: Segment[] = [];
  private counter = 0;
  private total = 0;
  /** Lines skipped because they could not be parsed (a torn write). */
  corruptLines = 0;
  /** Records left out because they could not be serialised. */
  unencodable = 0;

  constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.ownerId = options.ownerId;
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
  }

  /** Create the directory, take the lock and claim segments left by processes that are gone. Throws when the directory is unusable. */
  open(): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, `${this.ownerId}.lock`), String(process.pid));
    this.claimOrphans();
  }

  /** The spool's directory. */
  get directory(): string {
    return this.dir;
  }

  /** Records not yet acknowledged (reads the unacknowledged part of every segment: for reports, not hot paths). */
  pendingRecords(): number {
    let n = 0;
    for (const seg of this.segments) {
      if (seg.offset >= seg.size) continue;
      const fd = openSync(join(this.dir, seg.name), 'r');
      try {
        const buf = Buffer.alloc(Math.min(READ_CHUNK, seg.size - seg.offset));
        for (let pos = seg.offset; pos < seg.size; ) {
          const got = readSync(fd, buf, 0, Math.min(buf.length, seg.size - pos), pos);
          if (got === 0) break;
          for (let i = 0; i < got; i++) if (buf[i] === 0x0a) n++;
          pos += got;
        }
      } finally {
        closeSync(fd);
      }
    }
    return n;
  }

  /** Bytes held on disk by this process's segments. */
  get bytes(): number {
    return this.total;
  }

  get isEmpty(): boolean {
    return this.segments.every((s) => s.offset >= s.size);
  }

  /**
   * Append records in order. With `fresh`, they start a new segment named
   * after their own first record, so that records older than what the spool
   * holds sort before it. Returns how many were written; the rest did not
   * fit under the size bound. Records that cannot be serialised are left
   * out (counted in {@link unencodable}) and count as handled.
   */
  append(records: readonly AuditRecord[], fresh = false): number {
    let written = 0;
    let seg = fresh ? undefined : this.segments[this.segments.length - 1];
    let buf = '';
    // UTF-8 bytes of `buf`, kept as it grows (measuring `buf` per record would be quadratic).
    let bufBytes = 0;
    let pending = 0;
    let skipped = 0;
    const flush = (): void => {
      if (!seg || buf === '') return;
      appendFileSync(join(this.dir, seg.name), buf);
      seg.size += bufBytes;
      this.total += bufBytes;
      written += pending + skipped;
      skipped = 0;
      buf = '';
      bufBytes = 0;
      pending = 0;
    };
    for (const r of records) {
      let line: string;
      try {
        line = JSON.stringify(r) + '\n';
      } catch (err) {
        // Left out and counted; the records after it are still written.
        this.unencodable++;
        if (this.unencodable === 1 || this.unencodable % 1000 === 0) {
          diag.error(`otel-audit: an audit record could not be spooled as JSON and was left out (${this.unencodable} so far)`, err);
        }
        skipped++;
        continue;
      }
      const n = Buffer.byteLength(line);
      if (this.total + bufBytes + n > this.maxBytes) break;
      if (!seg || seg.size + bufBytes + n > this.segmentBytes) {
        flush();
        seg = this.newSegment(r.observedTimeUnixNano);
      }
      buf += line;
      bufBytes += n;
      pending++;
    }
    flush();
    return written + skipped;
  }

  /** The oldest unacknowledged records, at most `max`, or undefined when the spool is empty. */
  peek(max: number): SpoolBatch | undefined {
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return undefined;
      if (seg.offset >= seg.size) {
        if (this.segments.length === 1) return undefined;
        this.drop(seg);
        continue;
      }
      const { records, endOffset } = this.read(seg, max);
      if (records.length > 0) return { records, segment: seg.name, endOffset };
      if (endOffset > seg.offset) {
        // Only unreadable lines: step over them.
        this.advance(seg, endOffset);
        continue;
      }
      return undefined;
    }
  }

  /** Mark a peeked batch as delivered. */
  ack(batch: SpoolBatch): void {
    const seg = this.segments.find((s) => s.name === batch.segment);
    if (!seg) return;
    this.advance(seg, batch.endOffset);
    if (seg.offset >= seg.size && this.segments.length > 1 && this.segments[0] === seg) this.drop(seg);
  }

  /** Release the lock; segments stay for the next start. Empty segments are removed. */
  close(): void {
    for (const seg of [...this.segments]) if (seg.offset >= seg.size) this.drop(seg);
    try {
      unlinkSync(join(this.dir, `${this.ownerId}.lock`));
    } catch (err) {
      diag.debug('otel-audit: spool lock already gone', err);
    }
  }

  private newSegment(firstObservedNano: string): Segment {
    const stamp = firstObservedNano.replace(/\D/g, '').padStart(20, '0').slice(-20);
    const name = `${stamp}-${String(this.counter++ % 1_000_000).padStart(6, '0')}-${this.ownerId}.jsonl`;
    const seg: Segment = { name, size: 0, offset: 0 };
    this.segments.push(seg);
    this.segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return seg;
  }

  private read(seg: Segment, max: number): { records: AuditRecord[]; endOffset: number } {
    const fd = openSync(join(this.dir, seg.name), 'r');
    let text: string;
    try {
      const len = Math.min(READ_CHUNK, seg.size - seg.offset);
      const buf = Buffer.alloc(len);
      const got = readSync(fd, buf, 0, len, seg.offset);
      text = buf.subarray(0, got).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const records: AuditRecord[] = [];
    let pos = 0;
    let end = seg.offset;
    while (records.length < max) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      const line = text.slice(pos, nl);
      end += Buffer.byteLength(line) + 1;
      pos = nl + 1;
      try {
        records.push(JSON.parse(line) as AuditRecord);
      } catch {
        this.corruptLines++;
        diag.warn(`otel-audit: skipping an unreadable spool line in ${seg.name}`);
      }
    }
    if (records.length === 0 && pos === 0 && seg.offset + Buffer.byteLength(text) >= seg.size && text.length > 0) {
      // A last line without its newline: a write torn by a crash. Skip it.
      this.corruptLines++;
      end = seg.size;
    }
    return { records, endOffset: end };
  }

  private advance(seg: Segment, offset: number): void {
    seg.offset = offset;
    writeFileSync(join(this.dir, `${seg.name}.offset`), String(offset));
  }

  private drop(seg: Segment): void {
    for (const f of [seg.name, `${seg.name}.offset`]) {
      try {
        unlinkSync(join(this.dir, f));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diag.warn(`otel-audit: cannot remove spool file ${f}`, err);
      }
    }
    this.total -= seg.size;
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
  }

  private claimOrphans(): void {
    const names = readdirSync(this.dir);
    const live = new Map<string, boolean>();
    for (const name of names.sort()) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const [, stamp, , owner] = m as unknown as [string, string, string, string];
      let target = name;
      if (owner !== this.ownerId) {
        let alive = live.get(owner);
        if (alive === undefined) {
          const lock = join(this.dir, `${owner}.lock`);
          alive = existsSync(lock) && processAlive(Number(readFileSync(lock, 'utf8').trim()));
          live.set(owner, alive);
        }
        if (alive) continue;
        target = `${stamp}-${String(this.counter++ % 1_000_000).padStart(6, '0')}-${this.ownerId}.jsonl`;
        try {
          renameSync(join(this.dir, name), join(this.dir, target));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process claimed it
          throw err;
        }
        try {
          renameSync(join(this.dir, `${name}.offset`), join(this.dir, `${target}.offset`));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      const size = statSync(join(this.dir, target)).size;
      let offset = 0;
      try {
        offset = Math.min(size, Number(readFileSync(join(this.dir, `${target}.offset`), 'utf8')) || 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.segments.push({ name: target, size, offset });
      this.total += size;
    }
    for (const owner of live.keys()) {
      if (live.get(owner) === false) {
        try {
          unlinkSync(join(this.dir, `${owner}.lock`));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') diag.debug('otel-audit: stale lock', err);
        }
      }
    }
    this.segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
