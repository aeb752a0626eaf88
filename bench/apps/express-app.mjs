// The service every scenario of bench/sdk-overhead runs: a small user API on
// express, with a JSON body parser. Uninstrumented by itself; the scenarios
// differ only in what is preloaded with --import.
//   PORT=0 node [--import ...] bench/apps/express-app.mjs   → prints "LISTENING <port>"
import express from 'express';

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

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', (err) => {
  if (err) throw err;
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

// Stop accepting connections and let the process end by itself, so that
// preloaded SDKs flush on the way out and --cpu-prof profiles get written.
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
});
