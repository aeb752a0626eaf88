import { createServer, request, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listen } from '../../src/sink/listen.js';

const HOST = '127.0.0.1';

/** A server that holds each request until released; `arrived` resolves when one is held. */
function holdingServer(): { server: ReturnType<typeof createServer>; arrived: Promise<void>; release(): void } {
  let held: ServerResponse | undefined;
  let onArrive: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (onArrive = resolve));
  const server = createServer((_req, res) => {
    held = res;
    onArrive();
  });
  return { server, arrived, release: () => held?.end('done') };
}

/** GET / on `port`: the body, or the error's code. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: HOST, port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    req.end();
  });
}

describe('listen', () => {
  it('listens on a free port for port 0 and reports it', async () => {
    const { server } = holdingServer();
    const listening = await listen(server, 0, HOST, 'all');
    expect(listening.port).toBeGreaterThan(0);
    expect(server.listening).toBe(true);
    await listening.close();
    expect(server.listening).toBe(false);
  });

  it('rejects when the port is taken', async () => {
    const first = await listen(holdingServer().server, 0, HOST, 'all');
    try {
      await expect(listen(holdingServer().server, first.port, HOST, 'all')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });

  it('closing with `idle` lets a request in flight finish', async () => {
    const h = holdingServer();
    const listening = await listen(h.server, 0, HOST, 'idle');
    const answer = get(listening.port);
    await h.arrived;
    const closed = listening.close();
    h.release();
    expect(await answer).toBe('done');
    await closed;
  });

  it('closing with `all` drops a request in flight', async () => {
    const h = holdingServer();
    const listening = await listen(h.server, 0, HOST, 'all');
    const answer = get(listening.port);
    await h.arrived;
    await listening.close();
    expect(await answer).toBe('ECONNRESET');
  });
});
