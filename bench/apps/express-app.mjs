// The service every scenario of bench/sdk-overhead runs: a small user API on
// express, with a JSON body parser. Uninstrumented by itself; the scenarios
// differ only in what is preloaded with --import.
//   PORT=0 node [--import ...] bench/apps/express-app.mjs   → prints "LISTENING <port>"
import express from 'express';
import { serve } from './serve.mjs';

const app = express();
app.use(express.json());

const MAX_USERS = 1000;
const users = new Map();
for (let i = 1; i <= 100; i++) users.set(String(i), { id: String(i), name: `user${i}`, role: i === 1 ? 'admin' : 'user' });
let nextId = 101;

app.get('/users/:id', (req, res) => {
  const user = users.get(req.params.id);
  if (!user) return res.status(404).json({ error: 'not found' });
  res.json(user);
});

app.post('/users', (req, res) => {
  const name = typeof req.body?.name === 'string' ? req.body.name : '';
  if (name === '') return res.status(400).json({ error: 'name is required' });
  // Ids wrap around so that a long run does not grow the map without bound.
  const id = String(101 + ((nextId++ - 101) % MAX_USERS));
  const user = { id, name, role: typeof req.body.role === 'string' ? req.body.role : 'user' };
  users.set(id, user);
  res.status(201).json(user);
});

// Up to 10 s for the SDKs to flush on SIGTERM.
serve(app, 10_000);
