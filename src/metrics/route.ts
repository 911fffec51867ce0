import type { FastifyInstance } from 'fastify';
import type { SidecacheMetrics } from './metrics.js';

/** `GET /metrics`: the Prometheus text exposition (no token: scrapers rarely carry one). */
export async function metricsRoute(app: FastifyInstance, options: { metrics: SidecacheMetrics }): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const body = await options.metrics.scrape();
    return reply.header('content-type', options.metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}
