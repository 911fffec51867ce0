/** Baseline: a bare Fastify 5 server answering GET /bench/items/:id with the bench's 2 KB JSON. */
import Fastify from 'fastify';
import { BODY } from './body.js';

const app = Fastify({ logger: false });
app.get('/bench/items/:id', async (_request, reply) => {
  reply.header('content-type', 'application/json');
  return BODY;
});
app.get('/healthz', async () => ({ status: 'ok' }));

const port = Number(process.env['PORT'] ?? 0);
const address = await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
