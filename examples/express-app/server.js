// Example service for otel-audit: a small user API on express.
//   node --import otel-audit/register examples/express-app/server.js
// Every request below becomes one audit record; /healthz is not recorded.
import express from 'express';
import { audit } from 'otel-audit';

const app = express();
app.use(express.json());

// alice (1) is the administrator; bob (2) is not.
const users = new Map([
  ['1', { id: '1', name: 'alice', role: 'admin' }],
  ['2', { id: '2', name: 'bob', role: 'user' }],
]);
let nextId = 3;

// Authentication middleware: a bearer token "user:<id>" names the caller.
app.use((req, _res, next) => {
  const auth = req.headers.authorization ?? '';
  const m = /^Bearer user:(\w+)$/.exec(auth);
  if (m && users.has(m[1])) req.user = { id: m[1], name: users.get(m[1]).name };
  next();
});

app.get('/healthz', (_req, res) => res.send('ok'));

app.get('/users', (_req, res) => res.json([...users.values()]));
app.get('/users/:id', (req, res) => {
  const u = users.get(req.params.id);
  if (!u) return res.status(404).json({ error: 'not found' });
  res.json(u);
});
app.post('/users', (req, res) => {
  const id = String(nextId++);
  const user = { id, name: String(req.body?.name ?? ''), role: 'user' };
  users.set(id, user);
  audit.record({ action: 'user.create', resource: { type: 'user', id }, after: user });
  res.status(201).json(user);
});
app.put('/users/:id', (req, res) => {
  const before = users.get(req.params.id);
  if (!before) return res.status(404).json({ error: 'not found' });
  const after = { ...before, ...req.body, id: before.id };
  users.set(before.id, after);
  audit.record({ action: 'user.update', resource: { type: 'user', id: before.id }, before, after });
  res.json(after);
});
app.delete('/users/:id', (req, res) => {
  if (!req.user) return res.status(403).json({ error: 'forbidden' });
  users.delete(req.params.id);
  res.status(204).end();
});
app.post('/sessions', (req, res) => {
  const { username, password } = req.body ?? {};
  const user = [...users.values()].find((u) => u.name === username);
  if (!user || password !== 'secret') return res.status(401).json({ error: 'bad credentials' });
  const sessionId = `s-${Date.now().toString(36)}`;
  audit.record({ action: 'session.create', resource: { type: 'session', id: sessionId }, actor: { id: user.id, name: user.name } });
  res.status(201).json({ sessionId });
});
app.post('/admin/reindex', (req, res) => {
  if (req.user?.id !== '1') return res.status(403).json({ error: 'forbidden' });
  res.json({ ok: true });
});

const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`example service on http://127.0.0.1:${server.address().port}`);
});
