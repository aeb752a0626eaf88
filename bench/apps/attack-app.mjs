// The service of bench/sdk-attack: an express app with a JSON body parser
// raised to 16 MB, a route that echoes the number of keys it got, and 404 for
// every other path. Uninstrumented by itself; the benchmark runs it with and
// without --import otel-audit/register. With --expose-gc, GET /__heap answers
// the heap in use after full collections.
//   PORT=0 node [--import ...] bench/apps/attack-app.mjs   → prints "LISTENING <port>"
import express from 'express';
import { serve } from './serve.mjs';

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

// Up to 5 s for the SDKs to flush on SIGTERM.
serve(app, 5_000);
