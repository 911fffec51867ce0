import type { FastifyInstance } from 'fastify';
import type { CompiledUpstream } from '../../proxy/upstreams.js';
import type { TierStack } from '../../cache/stack.js';

export interface HealthOptions {
  readonly upstreams: readonly CompiledUpstream[];
  readonly stack: TierStack;
  readonly isDraining: () => boolean;
}

/** `/healthz`: the process is alive. `/readyz`: ready to take traffic, with per-upstream state. */
export async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const draining = options.isDraining();
    const upstreams = Object.fromEntries(
      options.upstreams.map((u) => [u.name, { state: u.enabled ? 'enabled' : 'disabled', prefix: u.config.prefix }]),
    );
    const tiers = Object.fromEntries(options.stack.tiers.map((tier) => [tier.name, 'up']));
    reply.code(draining ? 503 : 200);
    return { status: draining ? 'draining' : 'ready', upstreams, tiers };
  });
}
