import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { SessionsConfig } from '../config/types.js';
import type { SqlDatabase } from '../db/sql.js';
import { sessionIdFor, tokenHashFor, validateSessionToken } from './identity.js';
import { deleteInBatches } from '../db/batches.js';
import { DELETE_EXPIRED, SELECT_SESSION, UPSERT_TOUCHES, type SessionDbRow } from './session-sql.js';

export interface SessionStoreOptions {
  /** Owned by the caller, who closes it after the store; null = no database (ids only, nothing written). */
  readonly db: SqlDatabase | null;
  /** Key secret the token is HMACed with (the cache key secret). */
  readonly secret: string;
  readonly config: SessionsConfig;
  readonly now?: () => number;
  readonly log?: (obj: Record<string, unknown>, msg: string) => void;
  /** Touches waiting for a flush at most; beyond it the oldest is dropped and counted (default 10 000). */
  readonly maxPending?: number;
  /** Tokens whose HMACs and last touch are remembered (default 10 000). */
  readonly memoSize?: number;
  /** Rows per DELETE statement of the cleanup (default 1 000). */
  readonly cleanupBatchSize?: number;
  /** How long close() waits for the final flush (default 5 s). */
  readonly closeTimeoutMs?: number;
}

/** A `user_sessions` row as the admin API shows it; timestamps are epoch ms. Never the token or its full hash. */
export interface SessionRow {
  readonly id: string;
  readonly userIdentifier: string | null;
  readonly preferences: Record<string, unknown>;
  readonly createdAt: number;
  readonly lastAccessed: number;
  readonly expiresAt: number;
  /** First 8 hex characters of token_hash, to tell rows apart in support conversations. */
  readonly tokenHashPrefix: string;
}

export interface SessionStoreStats {
  /** Touches waiting for the next flush. */
  readonly pendingTouches: number;
  /** Touches written since start. */
  readonly flushed: number;
  /** Flush statements that failed (their touches were kept for the next try). */
  readonly flushFailures: number;
  /** Touches dropped because the pending map was full (Postgres away for long). */
  readonly dropped: number;
}

interface Touch {
  readonly id: string;
  readonly tokenHash: string;
  readonly userIdentifier: string | null;
  readonly at: number;
}

interface Memo {
  readonly id: string;
  readonly tokenHash: string;
  /** When this instance last queued a touch for the session; -Infinity = never. */
  touchedAt: number;
  userIdentifier: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `user_sessions` table (migrations/0003_user_sessions.sql) behind a hot path that never
 * waits on it. A token's session id and token hash are HMACs of the token, so resolve() is
 * synchronous and the same on every instance; it queues at most one touch per session per
 * touch interval, and a background flush writes every queued touch in one upsert. Postgres being
 * away only delays touches (kept, bounded, retried), never a request.
 */
export class SessionStore {
  readonly #db: SqlDatabase | null;
  #secret: string;
  readonly #config: SessionsConfig;
  readonly #now: () => number;
  readonly #log: (obj: Record<string, unknown>, msg: string) => void;
  readonly #maxPending: number;
  readonly #cleanupBatchSize: number;
  readonly #closeTimeoutMs: number;
  readonly #memo: LRUCache<string, Memo>;
  readonly #timers: NodeJS.Timeout[] = [];
  #pending = new Map<string, Touch>();
  #flushing: Promise<number> | null = null;
  #cleaning: Promise<number> | null = null;
  #failing = 0;
  #flushed = 0;
  #flushFailures = 0;
  #dropped = 0;
  #closed = false;

  constructor(options: SessionStoreOptions) {
    if (typeof options.secret !== 'string' || options.secret === '') throw new TypeError('SessionStore: secret must be a non-empty string');
    this.#db = options.db;
    this.#secret = options.secret;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#maxPending = positive('maxPending', options.maxPending ?? 10_000);
    this.#cleanupBatchSize = positive('cleanupBatchSize', options.cleanupBatchSize ?? 1_000);
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#memo = new LRUCache({ max: positive('memoSize', options.memoSize ?? 10_000) });
  }

  /**
   * Switches to another key secret (the persisted one, once the database is reachable after
   * start-up). Ids derived from the old secret are forgotten; pending touches keep theirs.
   */
  setSecret(secret: string): void {
    if (secret === this.#secret) return;
    this.#secret = secret;
    this.#memo.clear();
  }

  /**
   * The session of a validated token (synchronous; never touches the database). Queues a touch
   * when this instance has not touched the session within the touch interval, or when a user
   * identifier shows up that differs from the one last queued.
   */
  resolve(token: string, userIdentifier: string | null): { sessionId: string } {
    let memo = this.#memo.get(token);
    if (memo === undefined) {
      // Only tokens the proxy accepted reach here; checked once per token, not per request.
      if (validateSessionToken(token) !== 'ok') throw new RangeError('SessionStore.resolve: invalid session token');
      memo = { id: sessionIdFor(this.#secret, token), tokenHash: tokenHashFor(this.#secret, token), touchedAt: -Infinity, userIdentifier: null };
      this.#memo.set(token, memo);
    }
    if (this.#db !== null && !this.#closed) {
      const now = this.#now();
      const due = now - memo.touchedAt >= this.#config.touchIntervalMs;
      const newUser = userIdentifier !== null && userIdentifier !== memo.userIdentifier;
      if (due || newUser) {
        if (due) memo.touchedAt = now;
        if (userIdentifier !== null) memo.userIdentifier = userIdentifier;
        this.#queue({ id: memo.id, tokenHash: memo.tokenHash, userIdentifier: userIdentifier ?? memo.userIdentifier, at: now });
      }
    }
    return { sessionId: memo.id };
  }

  /** A new session token: 32 random bytes, hex. */
  mint(): string {
    return randomBytes(32).toString('hex');
  }

  /** Writes every pending touch in one statement; resolves the touches written. A failure keeps them for the next try. */
  async flush(): Promise<number> {
    while (this.#flushing !== null) await this.#flushing.catch(() => undefined);
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  /** Deletes sessions past expires_at, in batches; resolves the rows deleted. */
  cleanup(): Promise<number> {
    this.#cleaning ??= this.#cleanup().finally(() => {
      this.#cleaning = null;
    });
    return this.#cleaning;
  }

  /** A session row for the admin API, or undefined (also for a malformed id or without a database). */
  async get(sessionId: string): Promise<SessionRow | undefined> {
    if (this.#db === null || !UUID.test(sessionId)) return undefined;
    const { rows } = await this.#db.query<SessionDbRow>(SELECT_SESSION, [sessionId]);
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      id: row.id,
      userIdentifier: row.user_identifier,
      preferences: row.preferences,
      createdAt: Math.round(row.created_at),
      lastAccessed: Math.round(row.last_accessed),
      expiresAt: Math.round(row.expires_at),
      tokenHashPrefix: row.token_hash_prefix,
    };
  }

  /** Counters for metrics and the admin API. */
  stats(): SessionStoreStats {
    return { pendingTouches: this.#pending.size, flushed: this.#flushed, flushFailures: this.#flushFailures, dropped: this.#dropped };
  }

  /** Starts the flush timer (every min(1 s, touch interval)) and the cleanup timer; both unref'd. */
  start(): void {
    if (this.#db === null || this.#closed || this.#timers.length > 0) return;
    const flushEvery = Math.min(1_000, Math.max(100, this.#config.touchIntervalMs));
    this.#timers.push(setInterval(() => this.#flushInBackground(), flushEvery).unref());
    if (this.#config.cleanupIntervalMs > 0) {
      this.#timers.push(
        setInterval(() => {
          this.cleanup().catch((err: unknown) => this.#log({ err }, 'sessions: cleanup failed'));
        }, this.#config.cleanupIntervalMs).unref(),
      );
    }
  }

  /** Stops the timers and makes a last flush, waiting at most closeTimeoutMs; the database stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    const final = (async () => {
      await this.#cleaning?.catch(() => undefined);
      await this.flush();
      return 'flushed' as const;
    })().catch((err: unknown) => err);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([final, new Promise((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutMs, 'timed out')))]);
    clearTimeout(timer);
    if (outcome === 'flushed') return;
    const pending = this.#pending.size;
    this.#log(outcome === 'timed out' ? { pending } : { err: outcome, pending }, `sessions: final flush ${outcome === 'timed out' ? 'timed out' : 'failed'}; touches lost`);
  }

  #queue(touch: Touch): void {
    const pending = this.#pending;
    if (!pending.has(touch.tokenHash) && pending.size >= this.#maxPending) {
      // Map order is insertion order: the first key is the oldest touch.
      pending.delete(pending.keys().next().value!);
      this.#dropped++;
    }
    pending.set(touch.tokenHash, touch);
  }

  async #flush(): Promise<number> {
    if (this.#db === null || this.#pending.size === 0) return 0;
    const batch = this.#pending;
    this.#pending = new Map();
    // Sorted, so instances upserting overlapping sessions lock rows in the same order (no deadlock).
    const touches = [...batch.values()].sort((a, b) => (a.tokenHash < b.tokenHash ? -1 : a.tokenHash > b.tokenHash ? 1 : 0));
    try {
      await this.#db.query(UPSERT_TOUCHES, [
        touches.map((t) => t.id),
        touches.map((t) => t.tokenHash),
        touches.map((t) => t.userIdentifier),
        touches.map((t) => t.at),
        this.#config.ttlMs,
      ]);
    } catch (err) {
      this.#flushFailures++;
      this.#requeue(batch);
      // One line when the database goes away, one when it is back; not one per tick in between.
      if (this.#failing++ === 0) this.#log({ err, pending: this.#pending.size }, 'sessions: flush failed; touches kept for the next try');
      throw err;
    }
    if (this.#failing > 0) this.#log({ failures: this.#failing }, 'sessions: flush recovered');
    this.#failing = 0;
    this.#flushed += touches.length;
    return touches.length;
  }

  /** Puts a failed batch back in front of the touches queued since, newer touches winning, within maxPending. */
  #requeue(failed: Map<string, Touch>): void {
    const merged = new Map<string, Touch>();
    for (const [hash, touch] of failed) {
      const newer = this.#pending.get(hash);
      if (newer === undefined) merged.set(hash, touch);
      else merged.set(hash, newer.userIdentifier === null ? { ...newer, userIdentifier: touch.userIdentifier } : newer);
    }
    for (const [hash, touch] of this.#pending) if (!merged.has(hash)) merged.set(hash, touch);
    for (const hash of merged.keys()) {
      if (merged.size <= this.#maxPending) break;
      merged.delete(hash);
      this.#dropped++;
    }
    this.#pending = merged;
  }

  async #cleanup(): Promise<number> {
    if (this.#db === null) return 0;
    const deleted = await deleteInBatches(this.#db, DELETE_EXPIRED, this.#now(), this.#cleanupBatchSize);
    if (deleted > 0) this.#log({ deleted }, 'sessions: expired sessions removed');
    return deleted;
  }

  #flushInBackground(): void {
    // A flush stuck on a dead database is not queued behind: the next tick tries again.
    if (this.#flushing !== null) return;
    this.flush().catch(() => undefined);
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`SessionStore: ${name} must be a positive integer, got ${value}`);
  return value;
}
