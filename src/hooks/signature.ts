import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `header` is `sha256=<hex HMAC-SHA256 of the raw body>` under `secret` (the form Jira
 * sends in `X-Hub-Signature`, and sidecache's other feeds in `X-Sidecache-Signature`). The body
 * must be the bytes as received: a re-serialised JSON would not match. Constant-time.
 */
export function signatureMatches(secret: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = SIGNATURE.exec(header.trim());
  if (given === null) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(given[1]!, 'hex'));
}

/** `sha256=<hex>` for a body, as a sender computes it (tests, the sandbox, scripts). */
export function signBody(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Whether a shared secret sent in clear (a URL's `?secret=`) is the configured one. Constant-time, whatever the lengths. */
export function sharedSecretMatches(secret: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(secret), digest(given));
}
