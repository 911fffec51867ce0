import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AdminError } from './errors.js';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets.js';

/**
 * The operations console, served by the admin listener at `/console/` without the token: the
 * files hold no data; every figure is fetched from `/admin/*` with the bearer token the page
 * keeps in `sessionStorage`. Nothing here runs on the proxy listener.
 */
export interface ConsoleRoutesOptions {
  /** The built console (`dist/console/`). */
  readonly dir: string;
}

/**
 * Only this origin's own script and style; data from this origin only; no frames, forms posting
 * elsewhere, plugins or base-URI tricks. uPlot and preact set styles through the CSSOM, which
 * `style-src 'self'` allows.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const NOT_BUILT = 'the console has not been built: run `npm run build` (it writes dist/console/)';

/** Register with `{ prefix: '/console', dir }` on the admin listener's root instance. */
export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, options) => {
  const assets = await loadConsoleAssets(options.dir);
  if (assets === null) app.log.warn({ dir: options.dir }, 'console assets not found: /console/ answers 404 until `npm run build`');
  const hide = { schema: { hide: true } };

  app.get('/', hide, async (request, reply) => {
    // The listener ignores trailing slashes; the page's relative asset URLs need /console/.
    if (!request.url.split('?')[0]!.endsWith('/')) return reply.code(308).header('location', '/console/').send();
    return serve(request, reply, assets?.get('index.html'));
  });
  app.get<{ Params: { file: string } }>('/:file', hide, async (request, reply) => {
    // index.html only at /console/, so relative asset URLs always resolve under it.
    const name = request.params.file;
    return serve(request, reply, name === 'index.html' ? undefined : assets?.get(name), assets === null);
  });
};

function serve(request: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset | undefined, notBuilt = asset === undefined): FastifyReply {
  if (asset === undefined) throw new AdminError('not_found', notBuilt ? NOT_BUILT : 'no console file has this name');
  reply
    .headers(HEADERS)
    .header('content-type', asset.contentType)
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding')
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}
