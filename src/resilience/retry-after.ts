import { fieldAnyCase, parseRetryAfter, type ResponseHeaders, type RetryAfterOptions } from '../http/fields.js';
import { systemClock, type Clock } from './clock.js';

/**
 * Per-upstream "do not call before" gate, set from 429 / 503 + `Retry-After` (and Salesforce's
 * request-limit 403). A later, shorter block never shortens an existing one.
 */
export class RetryAfterGate {
  readonly #now: () => number;
  #until = 0;
  #blocks = 0;

  constructor(clock: Pick<Clock, 'now'> = systemClock) {
    this.#now = () => clock.now();
  }

  /** No calls until `untilMs` (epoch ms). */
  blockUntil(untilMs: number): void {
    if (!Number.isFinite(untilMs) || untilMs <= this.#now()) return;
    this.#blocks += 1;
    if (untilMs > this.#until) this.#until = untilMs;
  }

  /** No calls for `delayMs` from now. */
  blockFor(delayMs: number): void {
    this.blockUntil(this.#now() + delayMs);
  }

  /** Milliseconds until calls may resume; 0 when they may go now. */
  blockedFor(now: number = this.#now()): number {
    return Math.max(0, this.#until - now);
  }

  /** Lifts the block (e.g. an admin action). */
  clear(): void {
    this.#until = 0;
  }

  stats(): { blockedUntil: number | null; blockedForMs: number; blocks: number } {
    const blockedForMs = this.blockedFor();
    return { blockedUntil: blockedForMs > 0 ? this.#until : null, blockedForMs, blocks: this.#blocks };
  }
}

/** What made a response count as an upstream failure. */
export type UpstreamFailureKind = 'server_error' | 'rate_limited' | 'request_limit_exceeded';

/** Bytes of a 403 body worth reading for `classifyUpstreamResponse` (Salesforce's error is ~100 B). */
export const FAILURE_BODY_SNIPPET_BYTES = 4096;

/** Whether the classifier wants the start of the body for this status (only 403 does). */
export function needsBodySnippet(status: number): boolean {
  return status === 403;
}

const SF_LIMIT_PATTERN = /"errorCode"\s*:\s*"REQUEST_LIMIT_EXCEEDED"/;

/**
 * Why this response is an upstream failure, or null when it is an answer to pass on or cache:
 * 5xx (server_error), 429 (rate_limited), or Salesforce's API-quota 403 whose JSON body is
 * `[{"message": …, "errorCode": "REQUEST_LIMIT_EXCEEDED"}]` (request_limit_exceeded). For a 403
 * without `bodySnippet` the answer is null: pass the first `FAILURE_BODY_SNIPPET_BYTES` bytes.
 */
export function classifyUpstreamResponse(status: number, headers: ResponseHeaders = {}, bodySnippet?: string | Uint8Array): UpstreamFailureKind | null {
  if (status >= 500 && status <= 599) return 'server_error';
  if (status === 429) return 'rate_limited';
  if (status === 403 && bodySnippet !== undefined && isSalesforceLimitBody(headers, bodySnippet)) return 'request_limit_exceeded';
  return null;
}

/** `classifyUpstreamResponse(…) !== null`. */
export function isUpstreamFailure(status: number, headers?: ResponseHeaders, bodySnippet?: string | Uint8Array): boolean {
  return classifyUpstreamResponse(status, headers, bodySnippet) !== null;
}

/**
 * How long to stop calling the upstream after this failure, or null for no pause (the breaker
 * deals with plain 5xx): 429 and the Salesforce limit always pause (`Retry-After`, else the
 * default); a 503 pauses only when it carries `Retry-After`.
 */
export function upstreamPauseMs(status: number, kind: UpstreamFailureKind | null, headers: ResponseHeaders, now: number, options: RetryAfterOptions): number | null {
  const value = fieldAnyCase(headers, 'retry-after');
  if (kind === 'rate_limited' || kind === 'request_limit_exceeded') return parseRetryAfter(value, now, options).delayMs;
  if (status === 503 && value !== undefined) return parseRetryAfter(value, now, options).delayMs;
  return null;
}

function isSalesforceLimitBody(headers: ResponseHeaders, snippet: string | Uint8Array): boolean {
  const contentType = fieldAnyCase(headers, 'content-type');
  const type = typeof contentType === 'string' ? contentType : contentType?.[0];
  if (type !== undefined && !/json/i.test(type)) return false;
  const text = typeof snippet === 'string' ? snippet : Buffer.from(snippet.buffer, snippet.byteOffset, snippet.byteLength).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // A snippet cut mid-document: look for the exact field instead.
    return SF_LIMIT_PATTERN.test(text);
  }
  const items = Array.isArray(body) ? body : [body];
  return items.some((item) => typeof item === 'object' && item !== null && (item as { errorCode?: unknown }).errorCode === 'REQUEST_LIMIT_EXCEEDED');
}
