// The service of bench/sdk-attack: an express app with a JSON body parser
// raised to 16 MB, a route that echoes the number of keys it got, and 404 for
// every other path. Uninstrumented by itself; the benchmark runs it with and
// without --import otel-audit/register. With --expose-gc, GET /__heap answers
// the heap in use after full collections.
//   PORT=0 node [--import ...] bench/apps/attack-app.mjs   → prints "LISTENING <port>"
import express from 'express';

const app = express();
app.use(express.json({ limit: '16mb' }));

app.get('/ping', (_req, res) => res.json({ ok: true }));
app.post('/echo', (req, res) => res.json({ keys: req.body !== null && typeof req.body === 'object' ? Object.keys(req.body).length : 0 }));
app.get('/__heap', (_req, res) => {
  if (typeof globalThis.gc !== 'function') return res.status(501).json({ error: 'run with --expose-gc' });
  for (let i = 0; i < 3; i++) globalThis.gc();
  res.json({ heapUsed: process.memoryUsage().heapUsed });
});
app.use((_req, res) => res.status(404).json({ error: 'not found' }));

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', (err) => {
  if (err) throw err;
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
});
