/**
 * The naive read-through peer of issue 10: what a developer writes in an afternoon with Fastify,
 * an undici Pool and lru-cache. GET /bench/<path>: the URL is looked up in an LRU; a hit sends
 * the stored status, content-type and body; a miss asks the upstream for <path>, stores a 200 and
 * sends it. No coalescing, no tiers, no ttl, no upstream limit. The memory bound matches the
 * bench's sidecache config (256 MB, 200k entries). This is the baseline sidecache must beat.
 * Env: UPSTREAM_URL, PORT. Prints {"port":N} once listening.
 */
import Fastify from 'fastify';
import { LRUCache } from 'lru-cache';
import { Pool } from 'undici';

interface Stored {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

const PREFIX = '/bench';
const upstreamUrl = process.env['UPSTREAM_URL'];
if (upstreamUrl === undefined || upstreamUrl === '') throw new Error('UPSTREAM_URL is not set');

const upstream = new Pool(upstreamUrl);
const cache = new LRUCache<string, Stored>({
  max: 200_000,
  maxSize: 256 * 1024 * 1024,
  sizeCalculation: (value, key) => value.body.length + key.length,
});

const app = Fastify({ logger: false });

app.get(`${PREFIX}/*`, async (request, reply) => {
  const hit = cache.get(request.url);
  if (hit !== undefined) return reply.code(hit.status).header('content-type', hit.contentType).send(hit.body);
  const res = await upstream.request({ method: 'GET', path: request.url.slice(PREFIX.length) });
  const body = Buffer.from(await res.body.arrayBuffer());
  const contentType = String(res.headers['content-type'] ?? 'application/octet-stream');
  if (res.statusCode === 200) cache.set(request.url, { status: res.statusCode, contentType, body });
  return reply.code(res.statusCode).header('content-type', contentType).send(body);
});

app.get('/healthz', async () => ({ status: 'ok' }));

const port = Number(process.env['PORT'] ?? 0);
const address = await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => upstream.close())
    .then(() => process.exit(0));
});
