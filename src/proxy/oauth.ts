import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { SidecacheError } from '../errors.js';
import { fieldAnyCase } from '../http/fields.js';
import { OAUTH_URL_PATHS, rewriteOAuthUrls } from '../policy/oauth-urls.js';
import type { UpstreamResponse } from './forwarder.js';
import type { RequestHeaderPlan } from './headers.js';
import type { ProxyTarget } from './target.js';

/** Largest OAuth answer read to be rewritten (token and userinfo answers are a few KB). */
const MAX_OAUTH_BODY_BYTES = 256 * 1024;
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** How a pass-through of an OAuth answer is changed: asked for uncompressed, and its org URLs rewritten. */
export interface OAuthExchange {
  readonly headerPlan: RequestHeaderPlan;
  readonly rewrite: (response: UpstreamResponse) => Promise<UpstreamResponse>;
}

/**
 * For the OAuth token and userinfo paths, how their answer is rewritten so the client stays on the
 * proxy (policy/oauth-urls.ts); null for every other request. `onForeign` is told the origin of
 * an `instance_url` that is not the upstream's target: calls still go to the target (README).
 */
export function oauthExchange(request: FastifyRequest, target: ProxyTarget, onForeign: (upstream: string, origin: string) => void): OAuthExchange | null {
  if (!OAUTH_URL_PATHS.has(target.path)) return null;
  const { upstream } = target;
  const publicUrl = publicUrlOf(request, upstream.config.prefix, upstream.config.publicUrl);
  const plan = upstream.headerPlan;
  return {
    headerPlan: { remove: new Set([...plan.remove, 'accept-encoding']), add: [...plan.add, 'accept-encoding', 'identity'] },
    rewrite: async (response) => {
      const type = fieldAnyCase(response.headers, 'content-type');
      const coding = fieldAnyCase(response.headers, 'content-encoding');
      const json = typeof type === 'string' && /json/i.test(type);
      if (response.status !== 200 || !json || (coding !== undefined && coding !== 'identity')) return response;
      const text = (await readAll(response.body)).toString('utf8');
      const rewritten = rewriteOAuthUrls(text, publicUrl);
      const body = Buffer.from(rewritten?.body ?? text, 'utf8');
      const origin = rewritten?.instanceOrigin;
      if (origin != null && origin !== upstream.config.target?.origin.toLowerCase()) onForeign(upstream.name, origin);
      const headers: UpstreamResponse['headers'] = { ...response.headers, 'content-length': String(body.length), 'cache-control': 'no-store' };
      delete headers['transfer-encoding'];
      delete headers['etag'];
      return { status: response.status, headers, body: bodyStream(body) };
    },
  };
}

/**
 * The URL clients reach this upstream at: the configured `publicUrl`, else the request's own
 * scheme and host plus the prefix. Behind trusted proxies (`audit.trustedProxies`, Fastify's
 * `trustProxy`) the scheme and host are X-Forwarded-Proto and X-Forwarded-Host; otherwise the
 * connection's own scheme and the Host header.
 */
export function publicUrlOf(request: FastifyRequest, prefix: string, configured: string | null): string {
  if (configured !== null) return configured;
  const host: unknown = request.host;
  if (typeof host !== 'string' || !HOST.test(host)) {
    throw new SidecacheError('invalid_request', 'the Host header is not a host name: set this upstream\'s publicUrl, or send a valid Host');
  }
  return `${request.protocol}://${host}${prefix === '/' ? '' : prefix}`;
}

async function readAll(body: UpstreamResponse['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_OAUTH_BODY_BYTES) {
      body.destroy();
      throw new SidecacheError('upstream_bad_response', `the upstream's OAuth answer is larger than ${MAX_OAUTH_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function bodyStream(body: Buffer): UpstreamResponse['body'] {
  return Readable.from([body], { objectMode: false });
}
