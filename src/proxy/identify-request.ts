import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionsConfig } from '../config/types.js';
import { SidecacheError } from '../errors.js';
import type { ProxyRecord } from './record.js';
import { readSessionToken, readUserIdentifier, requestCredential, validateSessionToken } from '../sessions/identity.js';
import type { SessionStore } from '../sessions/sessions.js';

/**
 * Resolves who a request is on behalf of and notes it on the record: credential (for cache
 * partitions), session token (validated, or minted when configured) and user identifier. An
 * invalid token is refused with 400 `invalid_session_token`; the token itself is never kept.
 */
export function identifyRequest(
  request: FastifyRequest,
  reply: FastifyReply,
  record: ProxyRecord,
  sessions: { config: SessionsConfig; store: SessionStore },
): void {
  const { config, store } = sessions;
  const headers = request.headers;
  let { token } = readSessionToken(headers, config);
  if (token !== undefined) {
    const validity = validateSessionToken(token);
    if (validity !== 'ok') {
      throw new SidecacheError(
        'invalid_session_token',
        validity === 'too_long' ? 'session token is longer than 256 characters' : 'session token must be visible ASCII characters only',
      );
    }
  } else if (config.mint) {
    token = store.mint();
    reply.header(config.header, token);
  }
  const userIdentifier = readUserIdentifier(headers, config);
  record.identity = {
    credential: requestCredential(headers),
    sessionToken: token,
    userIdentifier,
  };
  if (token !== undefined) record.sessionId = store.resolve(token, userIdentifier).sessionId;
}
