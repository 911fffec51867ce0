import { sleep, systemClock, type Clock } from './clock.js';

/**
 * Error codes meaning "the connection failed before any response byte, and retrying the same
 * idempotent request on a new connection is safe and likely to work":
 *
 * - `ECONNRESET`: the peer reset the socket (typically a keep-alive connection the upstream or a
 *   load balancer closed just as we reused it).
 * - `EPIPE`: we wrote to a socket the peer had already closed; same race, seen while sending.
 * - `UND_ERR_SOCKET` (undici `SocketError`): the socket ended or closed ("other side closed",
 *   "closed") while the request was in flight.
 * - `ECONNREFUSED`: nothing was sent at all, so it is the safest case; counted because behind a
 *   load balancer or during a rolling restart the next connection often lands elsewhere, and a
 *   refused connect costs well under a millisecond to retry.
 *
 * Deliberately not retried: `UND_ERR_CLOSED` / `UND_ERR_DESTROYED` (our own Pool was closed —
 * shutdown, retrying cannot help), timeouts (`UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_HEADERS_TIMEOUT`:
 * the request may be running upstream, and a second wait doubles the client's), aborts, DNS
 * errors, HTTP parser errors (the upstream did answer, badly).
 */
const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNREFUSED']);

/** Methods sidecache retries: the safe reads. PUT/DELETE are idempotent too but are writes, never retried. */
const RETRIED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request with this method may be retried once on a reset (GET, HEAD, OPTIONS). */
export function isRetryableMethod(method: string): boolean {
  return RETRIED_METHODS.has(method.toUpperCase());
}

/**
 * The reset code behind `err`, if any: looks through `cause` chains (our `SidecacheError`
 * wraps the undici error) and into an `AggregateError`'s first error (happy-eyeballs connects).
 */
export function resetCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RESET_CODES.has(code)) return code;
    current = current instanceof AggregateError && current.errors.length > 0 ? current.errors[0] : current.cause;
  }
  return undefined;
}

export interface RetryOnceOptions {
  /** False for anything but a bodiless safe read (see `isRetryableMethod`): then `fn` runs once. */
  readonly isIdempotent: boolean;
  /** The retry waits a uniformly random 0..jitterMs first, so a fleet does not retry in lock-step. */
  readonly jitterMs: number;
  /** Aborting skips the retry (and interrupts the jitter wait). */
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called just before the retry, e.g. to count it in metrics. */
  readonly onRetry?: (info: { code: string; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `fn` and, when it rejects with a reset before any response byte, runs it once more after
 * a jitter. `fn` must resolve when the response *headers* arrive (undici's `request()` does): a
 * promise that rejected never produced a response, while errors after the headers surface on the
 * body stream, outside this function — so a response is never retried once it has begun.
 *
 * `fn` gets the attempt number (0, then 1) and must build a fresh request each time; a streamed
 * request body cannot be replayed, which is one more reason only bodiless reads are idempotent here.
 */
export async function retryOnceOnReset<T>(fn: (attempt: 0 | 1) => Promise<T>, options: RetryOnceOptions): Promise<T> {
  try {
    return await fn(0);
  } catch (err) {
    const code = options.isIdempotent && options.signal?.aborted !== true ? resetCode(err) : undefined;
    if (code === undefined) throw err;
    const delayMs = Math.floor((options.random ?? Math.random)() * Math.max(0, options.jitterMs));
    options.onRetry?.({ code, delayMs, error: err });
    await sleep(options.clock ?? systemClock, delayMs, options.signal);
    return fn(1);
  }
}
