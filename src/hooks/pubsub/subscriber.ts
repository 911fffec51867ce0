import * as grpc from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import type { AuditEventFields } from '../../audit/events.js';
import type { SalesforcePubSubConfig } from '../../config/types.js';
import type { Invalidator } from '../../invalidation/invalidator.js';
import type { DeliveryDedupe } from '../dedupe.js';
import type { WriteEquivalent } from '../write-equivalent.js';
import { applyBatch, batchAuditEvent, PUBSUB_SOURCE, type AppliedBatch } from './apply.js';
import { SalesforceAuth } from './auth.js';
import { ChangeEventDecoder } from './avro.js';
import { sleep, systemClock } from '../../resilience/clock.js';
import { backoffDelay, type BackoffOptions } from '../../backoff.js';
import { CursorStore } from './cursor.js';
import { FeedLeadership, type LeaseDatabase } from './leadership.js';
import { describe, errorCode, isUnauthenticated, metadataOf, unary } from './calls.js';
import { pubSubService, type FetchRequest, type FetchResponse, type PubSubClient } from './proto.js';

export type FeedState = 'connecting' | 'subscribed' | 'backing_off' | 'standby' | 'stopped';

/** The feed as `/readyz` and the metrics report it; no credential, no token. */
export interface ChangeFeedReading {
  readonly feed: string;
  readonly topic: string;
  readonly state: FeedState;
  /** When the last event was applied (epoch ms). */
  readonly lastEventAt: number | null;
  /** From the last applied event's commit in Salesforce to its invalidation here, ms. */
  readonly lagMs: number | null;
  /** When the replay id was last stored (events or keep-alive). */
  readonly cursorSavedAt: number | null;
  readonly reconnects: number;
  /** Replay ids Salesforce no longer had: each cost a full invalidation of the upstream. */
  readonly resyncs: number;
  readonly lastError: string | null;
}

export interface SubscriberOptions {
  readonly config: SalesforcePubSubConfig;
  readonly equivalent: WriteEquivalent;
  readonly invalidator: Pick<Invalidator, 'invalidate'>;
  readonly database: LeaseDatabase;
  readonly dedupe: DeliveryDedupe;
  readonly audit: { record(event: AuditEventFields): void } | null;
  /** False while audit rows can be neither written nor spooled under `audit.failClosed`: events wait. */
  readonly accepting: () => boolean;
  readonly events: { hookDelivery(source: string, outcome: string): void };
  readonly log: FastifyBaseLogger;
  readonly now?: () => number;
  readonly backoff?: BackoffOptions;
  /** How often a standby instance tries to take the feed over. */
  readonly standbyPollMs?: number;
}

/** A silent stream is dead: Salesforce sends a keep-alive at least every 270 s. */
const IDLE_STREAM_MS = 300_000;
const UNARY_DEADLINE_MS = 30_000;

/**
 * Subscribes to a Change Data Capture channel over the Pub/Sub API and invalidates what each
 * event changes. One instance leads (FeedLeadership); it resumes from the replay id stored in
 * `change_feed_cursors`, stores it again after each applied batch and keep-alive, re-requests
 * events as each batch is consumed (flow control), signs in again on UNAUTHENTICATED, and
 * reconnects with backoff after anything else. A replay id Salesforce no longer has means
 * changes may have been missed: everything of the upstream is invalidated, and the feed starts
 * again from the tip.
 */
export class PubSubSubscriber {
  readonly feed: string;
  readonly #o: SubscriberOptions;
  readonly #now: () => number;
  readonly #auth: SalesforceAuth;
  readonly #cursors: CursorStore;
  readonly #leadership: FeedLeadership;
  readonly #decoder: ChangeEventDecoder;
  readonly #stop = new AbortController();
  #client: PubSubClient | null = null;
  #metadata: grpc.Metadata | null = null;
  #running: Promise<void> | null = null;
  #startLatest = false;
  #reading: { -readonly [K in keyof ChangeFeedReading]: ChangeFeedReading[K] };

  constructor(options: SubscriberOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.feed = `${PUBSUB_SOURCE}:${options.config.topic}`;
    this.#auth = new SalesforceAuth(options.config, this.#now);
    this.#cursors = new CursorStore(options.database.db);
    this.#leadership = new FeedLeadership(options.database, this.feed, { pollMs: options.standbyPollMs ?? 5_000 });
    this.#decoder = new ChangeEventDecoder((id) => this.#schema(id));
    this.#reading = { feed: PUBSUB_SOURCE, topic: options.config.topic, state: 'standby', lastEventAt: null, lagMs: null, cursorSavedAt: null, reconnects: 0, resyncs: 0, lastError: null };
  }

  start(): void {
    this.#running ??= this.#leadership.run((lost) => this.#lead(lost), this.#stop.signal, (state, error) => {
      if (state === 'standby') this.#reading.state = 'standby';
      if (error !== undefined) this.#reading.lastError = error;
    });
  }

  reading(): ChangeFeedReading {
    return { ...this.#reading };
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#client?.close();
    this.#client = null;
    this.#reading.state = 'stopped';
  }

  /** While this instance leads: subscribe, and after each end or failure, subscribe again. */
  async #lead(lost: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([lost, this.#stop.signal]);
    let attempt = 0;
    let authRetried = false;
    while (!signal.aborted) {
      this.#reading.state = 'connecting';
      let delayed = true;
      try {
        // A stream the server ended after serving is reopened at once; one that ended before any answer waits.
        const progressed = await this.#subscribeOnce(signal);
        if (progressed) attempt = 0;
        authRetried = false;
        delayed = !progressed;
      } catch (err) {
        if (signal.aborted) break;
        const code = errorCode(err);
        this.#reading.lastError = describe(err);
        if (isUnauthenticated(err)) {
          this.#auth.invalidate();
          // A token that expired is replaced at once; credentials refused twice in a row wait.
          delayed = authRetried;
          authRetried = true;
        } else if ((err as grpc.ServiceError).code === grpc.status.INVALID_ARGUMENT && code?.includes('replayid') === true) {
          delayed = !(await this.#resync(err as grpc.ServiceError).catch(() => false));
        }
        this.#o.log.warn({ feed: this.feed, err: this.#reading.lastError, errorCode: code }, 'change feed subscription ended');
      }
      if (signal.aborted) break;
      this.#reading.reconnects += 1;
      if (delayed) {
        this.#reading.state = 'backing_off';
        await sleep(systemClock, backoffDelay(attempt++, this.#o.backoff ?? { initialMs: 1_000, maxMs: 60_000 }), signal).catch(() => undefined);
      }
    }
  }

  /** One Subscribe stream, until it ends (resolves: whether any response arrived) or fails (rejects). */
  async #subscribeOnce(signal: AbortSignal): Promise<boolean> {
    const { config } = this.#o;
    const client = this.#connect();
    this.#metadata = metadataOf(await this.#auth.session());
    const topic = await unary<{ can_subscribe: boolean }>((cb) =>
      client.GetTopic({ topic_name: config.topic }, this.#metadata!, { deadline: Date.now() + UNARY_DEADLINE_MS }, cb),
    );
    if (!topic.can_subscribe) throw new Error(`the integration user may not subscribe to ${config.topic} (see README: permissions)`);
    const cursor = await this.#cursors.load(this.feed);
    const first: FetchRequest =
      cursor !== null
        ? { topic_name: config.topic, replay_preset: 'CUSTOM', replay_id: cursor.replayId, num_requested: config.batchSize }
        : { topic_name: config.topic, replay_preset: this.#startLatest ? 'LATEST' : config.replayPreset, num_requested: config.batchSize };
    if (cursor !== null) this.#reading.cursorSavedAt ??= cursor.updatedAt;
    const stream = client.Subscribe(this.#metadata);
    return new Promise<boolean>((resolve, reject) => {
      let queue = Promise.resolve();
      let failure: unknown = null;
      let progressed = false;
      let idle: NodeJS.Timeout | undefined;
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => fail(new Error(`no message for ${IDLE_STREAM_MS / 1000} s (keep-alives stopped)`)), IDLE_STREAM_MS);
        idle.unref();
      };
      const fail = (err: unknown) => {
        failure ??= err;
        stream.cancel();
      };
      const onAbort = () => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      let finished = false;
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        void queue.then(() => {
          const cause = failure ?? err;
          if (cause === null || signal.aborted || (cause as grpc.ServiceError).code === grpc.status.CANCELLED) resolve(progressed);
          else reject(cause);
        });
      };
      stream.on('metadata', () => {
        this.#reading.state = 'subscribed';
        this.#startLatest = false;
      });
      stream.on('data', (response: FetchResponse) => {
        touch();
        this.#reading.state = 'subscribed';
        progressed = true;
        queue = queue.then(() => (failure === null ? this.#handle(response, (request) => stream.write(request)) : undefined)).catch(fail);
      });
      stream.on('error', (err) => finish(err));
      stream.on('end', () => finish(null));
      touch();
      stream.write(first);
    });
  }

  /** One FetchResponse: apply its events (or note a keep-alive's replay id), store the position, then ask for more when the last ask is used up. */
  async #handle(response: FetchResponse, request: (next: FetchRequest) => void): Promise<void> {
    const { config } = this.#o;
    if (response.events.length === 0) {
      // A keep-alive: nothing was missed up to its replay id (events still owed would come first).
      if (response.latest_replay_id.length > 0) await this.#save(response.latest_replay_id);
    } else {
      await this.#apply(response);
    }
    if (response.pending_num_requested <= 0) request({ num_requested: config.batchSize });
  }

  async #apply(response: FetchResponse): Promise<void> {
    const startedAt = this.#now();
    const last = response.events[response.events.length - 1]!.replay_id;
    const bytes = response.events.reduce((sum, e) => sum + (e.event?.payload.length ?? 0), 0);
    if (!this.#o.accepting()) throw new Error('the audit trail is unavailable (audit.failClosed): events wait');
    let batch: AppliedBatch;
    try {
      batch = await applyBatch(response.events, { decoder: this.#decoder, dedupe: this.#o.dedupe, equivalent: this.#o.equivalent, invalidator: this.#o.invalidator });
    } catch (err) {
      for (let i = 0; i < response.events.length; i++) this.#o.events.hookDelivery(PUBSUB_SOURCE, 'failed');
      this.#o.audit?.record(batchAuditEvent({ topic: this.#o.config.topic, startedAt, elapsedMs: this.#now() - startedAt, batch: null, bytes, replayId: last, rpcId: response.rpc_id, errorCode: 'invalidation_failed' }));
      throw err;
    }
    const appliedAt = this.#now();
    for (const outcome of batch.outcomes) this.#o.events.hookDelivery(PUBSUB_SOURCE, outcome);
    this.#o.audit?.record(batchAuditEvent({ topic: this.#o.config.topic, startedAt, elapsedMs: appliedAt - startedAt, batch, bytes, replayId: last, rpcId: response.rpc_id, errorCode: null }));
    this.#reading.lastEventAt = appliedAt;
    if (batch.lastCommitAt !== null) this.#reading.lagMs = Math.max(0, appliedAt - batch.lastCommitAt);
    await this.#save(last);
  }

  async #save(replayId: Buffer): Promise<void> {
    const at = this.#now();
    try {
      await this.#cursors.save(this.feed, replayId, at);
      this.#reading.cursorSavedAt = at;
    } catch (err) {
      // Applied all the same; a restart before the next save replays these events (and dedupe drops them).
      this.#reading.lastError = `could not store the replay id: ${(err as Error).message}`;
      this.#o.log.warn({ feed: this.feed, err: (err as Error).message }, 'change feed: could not store the replay id');
    }
  }

  /**
   * The stored replay id is gone (older than the 72 h retention, or the org moved): changes since
   * it may have been missed, so everything cached of the upstream is invalidated, the position
   * forgotten, and the feed resumes from the tip. True when that worked.
   */
  async #resync(err: grpc.ServiceError): Promise<boolean> {
    const { config } = this.#o;
    const startedAt = this.#now();
    await this.#o.invalidator.invalidate({ upstream: config.upstream }, 'hook');
    await this.#cursors.clear(this.feed);
    this.#reading.cursorSavedAt = null;
    this.#startLatest = true;
    this.#reading.resyncs += 1;
    this.#o.log.warn({ feed: this.feed, upstream: config.upstream, errorCode: errorCode(err) }, `change feed: the stored replay id is no longer available; invalidated all of upstream "${config.upstream}" and resubscribing from the latest event`);
    this.#o.audit?.record(
      batchAuditEvent({ topic: config.topic, startedAt, elapsedMs: this.#now() - startedAt, batch: null, bytes: 0, replayId: Buffer.alloc(0), rpcId: '', errorCode: 'replay_id_unavailable', resourceType: 'upstream', resourceId: config.upstream }),
    );
    return true;
  }

  #connect(): PubSubClient {
    if (this.#client === null) {
      const { config } = this.#o;
      const { PubSub } = pubSubService();
      const credentials = config.insecure ? grpc.credentials.createInsecure() : grpc.credentials.createSsl();
      this.#client = new PubSub(config.endpoint, credentials, {
        'grpc.keepalive_time_ms': 60_000,
        'grpc.keepalive_timeout_ms': 20_000,
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      });
    }
    return this.#client;
  }

  async #schema(schemaId: string): Promise<string> {
    const info = await unary<{ schema_json: string }>((cb) =>
      this.#connect().GetSchema({ schema_id: schemaId }, this.#metadata!, { deadline: Date.now() + UNARY_DEADLINE_MS }, cb),
    );
    return info.schema_json;
  }
}
