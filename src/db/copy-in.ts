/**
 * `COPY … FROM STDIN` over a `pg` client, with the data in one buffer: the
 * query is a `pg` Submittable (the interface pg's own Query implements),
 * because pg itself sends no copy data.
 */
import pg from 'pg';

/** What `pg` hands a submittable: the connection's frontend messages that COPY needs. */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** `COPY 2000` → 2000. */
const COPY_TAG = /^COPY (\d+)$/;

class CopyFromBuffer implements pg.Submittable {
  private readonly text: string;
  private readonly data: Buffer;
  private error: Error | undefined;
  private rows = 0;
  private settled = false;
  readonly done: Promise<number>;
  private resolve!: (rows: number) => void;
  private reject!: (err: Error) => void;

  constructor(text: string, data: Buffer) {
    this.text = text;
    this.data = data;
    this.done = new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: pg.Connection): void {
    // The simple query protocol: COPY needs no parameters.
    (connection as unknown as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = COPY_TAG.exec(msg.text ?? '');
    if (m) this.rows = Number(m[1]);
  }

  /**
   * Settles at once: pg stops treating this as the active query on an error
   * (the server's, or the connection's), so ReadyForQuery never reaches it.
   */
  handleError(err: Error): void {
    this.error ??= err;
    this.settle();
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  // Messages a COPY never gets; present because pg calls them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.error) this.reject(this.error);
    else this.resolve(this.rows);
  }
}

/** Runs `sql` (a `COPY … FROM STDIN`) on `client` with `data` as its input; resolves with the rows copied. */
export function copyIn(client: pg.ClientBase, sql: string, data: Buffer): Promise<number> {
  const copy = new CopyFromBuffer(sql, data);
  void client.query(copy);
  return copy.done;
}
