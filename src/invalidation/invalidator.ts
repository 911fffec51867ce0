import type { FastifyBaseLogger } from 'fastify';
import type { TierStack } from '../cache/stack.js';
import type { ManagedDatabase } from '../db/lifecycle.js';
import type { SqlDatabase } from '../db/sql.js';
import type { InvalidationBus } from './bus.js';
import { ALL_EPOCH, epochTag, prefixEpoch, upstreamEpoch, uriEpoch, type EpochTable } from './epochs.js';
import { normalisePrefix } from './prefix.js';

/** What to invalidate; several targets may be combined. */
export interface InvalidationTarget {
  readonly keys?: readonly string[];
  readonly tags?: readonly string[];
  readonly prefix?: { readonly upstream: string; readonly path: string };
  /** Exact paths (every query string of each). */
  readonly uris?: ReadonlyArray<{ readonly upstream: string; readonly path: string }>;
  readonly upstream?: string;
  readonly all?: boolean;
}

export type InvalidationSource = 'write' | 'admin' | 'hook';

export interface InvalidationResult {
  readonly epochs: readonly string[];
  /** Named keys some tier of this instance held and removed (not the keys asked for). */
  readonly keysDeleted: number;
  /** False when the epochs could not be persisted or announced within the bound. */
  readonly propagated: boolean;
}

/** How long an invalidation waits for its row and its bus message before returning anyway. */
const PROPAGATION_BOUND_MS = 500;

/**
 * Applies invalidations: at once on this instance (the epoch table, key deletes in every tier),
 * then durably (`cache_epochs`) and to other instances (the bus), bounded so a slow Postgres or
 * Redis cannot hold a write's response for long.
 */
export class Invalidator {
  readonly counts: Record<InvalidationSource, number> = { write: 0, admin: 0, hook: 0 };
  readonly #epochs: EpochTable;
  readonly #stack: TierStack;
  readonly #bus: InvalidationBus | null;
  readonly #database: ManagedDatabase | null;
  readonly #now: () => number;
  readonly #log: FastifyBaseLogger;
  /** Epochs waiting for the next `cache_epochs` statement: name → latest time. */
  #pendingEpochs = new Map<string, number>();
  /** The next statement, which every invalidation arriving before it starts joins. */
  #nextWrite: Promise<void> | null = null;
  #writing: Promise<void> | null = null;

  constructor(options: {
    epochs: EpochTable;
    stack: TierStack;
    bus: InvalidationBus | null;
    database: ManagedDatabase | null;
    now: () => number;
    log: FastifyBaseLogger;
  }) {
    this.#epochs = options.epochs;
    this.#stack = options.stack;
    this.#bus = options.bus;
    this.#database = options.database;
    this.#now = options.now;
    this.#log = options.log;
    this.#bus?.onMessage((message) => {
      if (message.type === 'invalidate') this.#epochs.bump(message.tags, message.at);
    });
  }

  async invalidate(target: InvalidationTarget, source: InvalidationSource): Promise<InvalidationResult> {
    this.counts[source] += 1;
    const at = this.#now();
    const epochs = epochNames(target);
    // 1. This instance: from now on, older entries are not served.
    this.#epochs.bump(epochs, at);
    // 2. Keys named outright are deleted from every tier, and other instances evict them.
    const keys = target.keys ?? [];
    const removed = await Promise.all(keys.map((key) => this.#deleteEverywhere(key)));
    // 3. Durable and cluster-wide, bounded.
    const propagation = Promise.all([
      epochs.length > 0 ? this.#bus?.publish({ type: 'invalidate', tags: [...epochs], at }) : undefined,
      keys.length > 0 ? this.#bus?.publish({ type: 'evict', keys: [...keys] }) : undefined,
      epochs.length > 0 ? this.#persist(epochs, at) : undefined,
    ]).then(() => true);
    const propagated = await Promise.race([propagation, delay(PROPAGATION_BOUND_MS).then(() => false)]).catch(() => false);
    if (!propagated) this.#log.warn({ source, epochs }, 'invalidation applied here but not confirmed durable or announced in time');
    return { epochs, keysDeleted: removed.filter(Boolean).length, propagated };
  }

  /** Deletes a key from every tier; true when at least one of them held it. */
  async #deleteEverywhere(key: string): Promise<boolean> {
    const held = await Promise.all(this.#stack.tiers.map((tier) => tier.delete(key)));
    return held.includes(true);
  }

  /** Loads persisted epochs (at start-up, and when the database comes back). */
  async load(since: number): Promise<number> {
    const db = this.#database;
    if (db === null || !db.ready()) return 0;
    const { rows } = await db.db.query<{ name: string; at: number }>(
      `SELECT name, (extract(epoch FROM epoch) * 1000)::float8 AS at FROM cache_epochs WHERE epoch >= to_timestamp($1::float8 / 1000)`,
      [since],
    );
    for (const row of rows) this.#epochs.bump([row.name], Math.round(Number(row.at)));
    return rows.length;
  }

  /** Forgets epochs no stored entry can be older than, here and in the table. */
  async prune(before: number): Promise<void> {
    this.#epochs.prune(before);
    const db = this.#database;
    if (db !== null && db.ready()) {
      await db.db.query(`DELETE FROM cache_epochs WHERE epoch < to_timestamp($1::float8 / 1000)`, [before]);
    }
  }

  /**
   * Group commit: one statement at a time writes every epoch that arrived while the previous one
   * ran, and each caller resolves when the statement holding its epochs commits. Concurrent
   * invalidations of a popular name (`jira:search` with every Jira issue event) then update its
   * row once per statement instead of queueing on its row lock one commit after another.
   */
  #persist(epochs: readonly string[], at: number): Promise<void> {
    const db = this.#database;
    if (db === null || !db.ready()) return Promise.resolve();
    for (const name of epochs) this.#pendingEpochs.set(name, Math.max(this.#pendingEpochs.get(name) ?? at, at));
    this.#nextWrite ??= (this.#writing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        const batch = this.#pendingEpochs;
        this.#pendingEpochs = new Map();
        this.#nextWrite = null;
        const write = writeEpochs(db.db, batch);
        this.#writing = write;
        return write;
      });
    return this.#nextWrite;
  }
}

/** Upserts epochs in one statement, in name order so that instances writing at once cannot deadlock. */
async function writeEpochs(db: SqlDatabase, epochs: ReadonlyMap<string, number>): Promise<void> {
  const names = [...epochs.keys()].sort();
  await db.query(
    `INSERT INTO cache_epochs (name, epoch)
     SELECT n, to_timestamp(t / 1000) FROM unnest($1::text[], $2::float8[]) AS d(n, t)
     ON CONFLICT (name) DO UPDATE SET epoch = GREATEST(cache_epochs.epoch, EXCLUDED.epoch)`,
    [names, names.map((name) => epochs.get(name)!)],
  );
}

/** The epoch names a target bumps. */
export function epochNames(target: InvalidationTarget): string[] {
  const names: string[] = [];
  if (target.all === true) names.push(ALL_EPOCH);
  if (target.upstream !== undefined) names.push(upstreamEpoch(target.upstream));
  if (target.prefix !== undefined) names.push(prefixEpoch(target.prefix.upstream, normalisePrefix(target.prefix.path)));
  for (const uri of target.uris ?? []) names.push(uriEpoch(uri.upstream, uri.path));
  for (const tag of target.tags ?? []) names.push(epochTag(tag));
  return names;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
