/**
 * The stand-ins an erased user's audit rows carry (pure): keyed hashes under the key secret, so
 * the same user (or session) maps to the same stand-in on every row and every instance — counts
 * per user and per session still add up — while nobody without the secret can link them back.
 */
import { createHmac } from 'node:crypto';

/** `erased:` and 128 bits of HMAC-SHA256(secret, user), hex: what replaces an erased user id. */
export function erasedUser(secret: string, user: string): string {
  return `erased:${createHmac('sha256', secret).update(`privacy-erase-user:${user}`).digest('hex').slice(0, 32)}`;
}

/** A UUID (version 8, RFC 9562) made of HMAC-SHA256(secret, session id): what replaces an erased session link. */
export function erasedSession(secret: string, sessionId: string): string {
  const bytes = createHmac('sha256', secret).update(`privacy-erase-session:${sessionId.toLowerCase()}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
