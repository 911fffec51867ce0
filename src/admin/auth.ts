import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SidecacheError } from '../errors.js';

/**
 * `onRequest` hook for `/admin/*`: `Authorization: Bearer <token>` is required. Both sides are
 * hashed before comparing so the comparison is constant-time whatever their lengths. Missing or
 * malformed: 401; present but wrong: 403.
 */
export function requireAdminToken(token: string) {
  const expected = digest(token);
  return async function adminAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] : undefined;
    if (presented === undefined) {
      reply.header('www-authenticate', 'Bearer realm="sidecache-admin"');
      throw new SidecacheError('unauthorized');
    }
    if (!timingSafeEqual(digest(presented), expected)) throw new SidecacheError('forbidden');
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
