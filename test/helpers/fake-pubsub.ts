/**
 * A fake Salesforce for the Pub/Sub API subscriber: an OAuth token endpoint (client credentials
 * and JWT bearer) over HTTP, and a real grpc-js server implementing the public PubSub service
 * (GetTopic, GetSchema, Subscribe with num_requested flow control, LATEST/EARLIEST/CUSTOM replay,
 * keep-alives) that delivers Avro-encoded change events with Salesforce's CDC schema shape.
 * Plaintext on 127.0.0.1. Importable by the sandbox and the benchmarks; not a test file.
 */
import { createHash, createVerify, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import avro from 'avsc';
import { pubSubService, type FetchRequest, type FetchResponse } from '../../src/hooks/pubsub/proto.js';

export const FAKE_ORG_ID = '00D000000000001AAA';
export const FAKE_USER_ID = '005000000000001AAA';
export const FAKE_CLIENT_ID = 'fake-consumer-key';
export const FAKE_CLIENT_SECRET = 'fake-consumer-secret-0123456789';
export const ERROR_CODE_AUTH = 'sfdc.platform.eventbus.grpc.service.auth.error';
export const ERROR_CODE_REPLAY = 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted';

/** A change as a test publishes it; the header's other fields get realistic values. */
export interface Change {
  readonly entityName: string;
  readonly recordIds: readonly string[];
  readonly changeType?: string;
  readonly fields?: Record<string, string | null>;
}

export interface Published {
  readonly replayId: Buffer;
  readonly eventId: string;
  /** Epoch ms the event was written to subscribers (or stored, when nobody was subscribed). */
  readonly sentAt: number;
}

interface Stored {
  readonly replayId: Buffer;
  readonly event: { id: string; schema_id: string; payload: Buffer };
}

interface Subscription {
  readonly call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>;
  readonly token: string;
  next: number;
  pending: number;
}

export interface FakePubSub {
  /** host:port of the gRPC server (plaintext). */
  readonly endpoint: string;
  /** Origin of the OAuth token endpoint. */
  readonly loginUrl: string;
  /** Appends a change event to the topic and delivers it to subscribers with requests pending. */
  publish(change: Change): Published;
  /** Sends a delivered event again to every subscriber, as Salesforce may after a reconnect. */
  redeliver(replayId: Buffer): number;
  /** An empty FetchResponse with the latest replay id to every subscriber. */
  keepAlive(): void;
  /** Every token issued so far stops working; open streams end UNAUTHENTICATED. */
  revokeTokens(): void;
  /** Forgets every stored event (as after the 72 h retention): old replay ids are refused. */
  expire(): void;
  /** RSA public key (PEM) that JWT assertions must verify with; null accepts none. */
  jwtPublicKey: string | null;
  readonly stats: { tokens: number; subscribes: number; fetchRequests: number; requested: number; unauthenticated: number; schemaRequests: number; presets: string[] };
  /** Open Subscribe streams. */
  subscribers(): number;
  close(): Promise<void>;
}

/** Salesforce's CDC Avro shape: ChangeEventHeader first, then the object's fields as nullable unions. */
export function changeEventSchema(entity: string): object {
  return {
    type: 'record',
    name: `${entity}ChangeEvent`,
    namespace: 'com.sforce.eventbus',
    fields: [
      {
        name: 'ChangeEventHeader',
        type: {
          type: 'record',
          name: 'ChangeEventHeader',
          fields: [
            { name: 'entityName', type: 'string' },
            { name: 'recordIds', type: { type: 'array', items: 'string' } },
            { name: 'changeType', type: { type: 'enum', name: 'ChangeType', namespace: 'com.sforce.eventbus', symbols: ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW', 'SNAPSHOT'] } },
            { name: 'changeOrigin', type: 'string' },
            { name: 'transactionKey', type: 'string' },
            { name: 'sequenceNumber', type: 'int' },
            { name: 'commitTimestamp', type: 'long' },
            { name: 'commitNumber', type: 'long' },
            { name: 'commitUser', type: 'string' },
            { name: 'nulledFields', type: { type: 'array', items: 'string' } },
            { name: 'diffFields', type: { type: 'array', items: 'string' } },
            { name: 'changedFields', type: { type: 'array', items: 'string' } },
          ],
        },
        doc: 'Data:ChangeEventHeader',
      },
      { name: 'Name', type: ['null', 'string'], default: null },
      { name: 'Type', type: ['null', 'string'], default: null },
      { name: 'Phone', type: ['null', 'string'], default: null },
      {
        name: 'BillingAddress',
        type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'Street', type: ['null', 'string'], default: null }, { name: 'City', type: ['null', 'string'], default: null }] }],
        default: null,
      },
      { name: 'OwnerId', type: ['null', 'string'], default: null },
      { name: 'LastModifiedDate', type: ['null', 'long'], default: null },
    ],
  };
}

/** Starts the fake on 127.0.0.1 (random ports). */
export async function startFakePubSub(options: { topic?: string } = {}): Promise<FakePubSub> {
  const topic = options.topic ?? '/data/ChangeEvents';
  const tokens = new Set<string>();
  const log: Stored[] = [];
  const schemas = new Map<string, { json: string; type: avro.Type }>();
  const subscriptions = new Set<Subscription>();
  const stats = { tokens: 0, subscribes: 0, fetchRequests: 0, requested: 0, unauthenticated: 0, schemaRequests: 0, presets: [] as string[] };
  let sequence = 0;
  let commitNumber = 10_000_000_000;
  let base = 0;

  // ---- OAuth token endpoint
  let http: Server;
  const fake: FakePubSub = {
    endpoint: '',
    loginUrl: '',
    jwtPublicKey: null,
    stats,
    publish,
    redeliver,
    keepAlive,
    revokeTokens,
    expire,
    subscribers: () => subscriptions.size,
    close,
  };
  http = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      res.setHeader('content-type', 'application/json');
      const refuse = (error: string, description: string) => {
        res.statusCode = 400;
        res.end(JSON.stringify({ error, error_description: description }));
      };
      if (req.method !== 'POST' || req.url !== '/services/oauth2/token') return refuse('invalid_request', 'not the token endpoint');
      const grant = form.get('grant_type');
      if (grant === 'client_credentials') {
        if (form.get('client_id') !== FAKE_CLIENT_ID || form.get('client_secret') !== FAKE_CLIENT_SECRET) return refuse('invalid_client', 'invalid client credentials');
      } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        const problem = jwtProblem(form.get('assertion') ?? '', fake.jwtPublicKey);
        if (problem !== null) return refuse('invalid_grant', problem);
      } else {
        return refuse('unsupported_grant_type', 'grant type not supported');
      }
      const token = `00D!fake-${randomUUID()}`;
      tokens.add(token);
      stats.tokens += 1;
      res.end(JSON.stringify({ access_token: token, instance_url: fake.loginUrl, id: `${fake.loginUrl}/id/${FAKE_ORG_ID}/${FAKE_USER_ID}`, token_type: 'Bearer', issued_at: String(Date.now()), signature: 'fake' }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  (fake as { loginUrl: string }).loginUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  // ---- gRPC
  const authProblem = (metadata: grpc.Metadata): grpc.ServiceError | null => {
    const token = metadata.get('accesstoken')[0];
    if (typeof token === 'string' && tokens.has(token) && metadata.get('tenantid')[0] === FAKE_ORG_ID && metadata.get('instanceurl')[0] === fake.loginUrl) return null;
    stats.unauthenticated += 1;
    return serviceError(grpc.status.UNAUTHENTICATED, 'The request does not have valid authentication credentials for the operation', ERROR_CODE_AUTH);
  };
  const server = new grpc.Server();
  server.addService(pubSubService().PubSub.service, {
    GetTopic(call: grpc.ServerUnaryCall<{ topic_name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const problem = authProblem(call.metadata);
      if (problem !== null) return callback(problem);
      if (call.request.topic_name !== topic) return callback(serviceError(grpc.status.NOT_FOUND, `topic ${call.request.topic_name} not found`, 'sfdc.platform.eventbus.grpc.subscription.topic.notfound'));
      callback(null, { topic_name: topic, tenant_guid: FAKE_ORG_ID, can_publish: false, can_subscribe: true, schema_id: '', rpc_id: randomUUID() });
    },
    GetSchema(call: grpc.ServerUnaryCall<{ schema_id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const problem = authProblem(call.metadata);
      if (problem !== null) return callback(problem);
      stats.schemaRequests += 1;
      const schema = schemas.get(call.request.schema_id);
      if (schema === undefined) return callback(serviceError(grpc.status.NOT_FOUND, 'schema not found', 'sfdc.platform.eventbus.grpc.schema.notfound'));
      callback(null, { schema_json: schema.json, schema_id: call.request.schema_id, rpc_id: randomUUID() });
    },
    Subscribe(call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>) {
      const problem = authProblem(call.metadata);
      if (problem !== null) return void call.emit('error', problem);
      stats.subscribes += 1;
      let subscription: Subscription | null = null;
      call.on('data', (request: FetchRequest) => {
        stats.fetchRequests += 1;
        const wanted = request.num_requested;
        if (!(wanted > 0 && wanted <= 100)) return void call.emit('error', serviceError(grpc.status.INVALID_ARGUMENT, 'num_requested must be 1 to 100', 'sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid'));
        stats.requested += wanted;
        if (subscription === null) {
          if (request.topic_name !== topic) return void call.emit('error', serviceError(grpc.status.INVALID_ARGUMENT, `topic ${request.topic_name} not found`, 'sfdc.platform.eventbus.grpc.subscription.topic.notfound'));
          stats.presets.push(request.replay_preset ?? 'LATEST');
          let next = base + log.length;
          if (request.replay_preset === 'EARLIEST') next = base;
          if (request.replay_preset === 'CUSTOM') {
            const position = positionOf(request.replay_id);
            if (position === null || position < base || position > base + log.length) {
              return void call.emit('error', serviceError(grpc.status.INVALID_ARGUMENT, 'Replay ID validation failed', ERROR_CODE_REPLAY));
            }
            next = position;
          }
          subscription = { call, token: String(call.metadata.get('accesstoken')[0]), next, pending: 0 };
          subscriptions.add(subscription);
          call.sendMetadata(new grpc.Metadata());
        }
        subscription.pending += wanted;
        deliver(subscription);
      });
      const drop = () => {
        if (subscription !== null) subscriptions.delete(subscription);
      };
      call.on('end', () => {
        drop();
        call.end();
      });
      call.on('cancelled', drop);
      call.on('error', drop);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
  (fake as { endpoint: string }).endpoint = `127.0.0.1:${port}`;

  /** Sends what the subscription asked for and the log holds, in one FetchResponse. */
  function deliver(subscription: Subscription): void {
    const events: Stored[] = [];
    while (subscription.pending > 0 && subscription.next < base + log.length) {
      events.push(log[subscription.next - base]!);
      subscription.next += 1;
      subscription.pending -= 1;
    }
    if (events.length > 0) write(subscription, events);
  }

  function write(subscription: Subscription, events: Stored[]): void {
    const latest = events.length > 0 ? events[events.length - 1]!.replayId : (log[log.length - 1]?.replayId ?? replayIdOf(base));
    subscription.call.write({ events: events.map((e) => ({ event: e.event, replay_id: e.replayId })), latest_replay_id: latest, rpc_id: randomUUID(), pending_num_requested: subscription.pending });
  }

  function publish(change: Change): Published {
    const schemaJson = JSON.stringify(changeEventSchema(change.entityName));
    const schemaId = createHash('sha256').update(schemaJson).digest('base64url').slice(0, 22);
    let schema = schemas.get(schemaId);
    if (schema === undefined) {
      schema = { json: schemaJson, type: avro.Type.forSchema(JSON.parse(schemaJson) as avro.Schema) };
      schemas.set(schemaId, schema);
    }
    sequence += 1;
    const payload = schema.type.toBuffer({
      ChangeEventHeader: {
        entityName: change.entityName,
        recordIds: [...change.recordIds],
        changeType: change.changeType ?? 'UPDATE',
        changeOrigin: 'com/salesforce/api/soap/60.0;client=SfdcInternalAPI/',
        transactionKey: `000${sequence.toString(16).padStart(5, '0')}-fake-${randomUUID().slice(0, 8)}`,
        sequenceNumber: 1,
        commitTimestamp: Date.now(),
        commitNumber: ++commitNumber,
        commitUser: FAKE_USER_ID,
        nulledFields: [],
        diffFields: [],
        changedFields: ['0x0A'],
      },
      Name: change.fields?.['Name'] ?? null,
      Type: null,
      Phone: null,
      BillingAddress: null,
      OwnerId: null,
      LastModifiedDate: Date.now(),
    });
    const stored: Stored = { replayId: replayIdOf(base + log.length + 1), event: { id: randomUUID(), schema_id: schemaId, payload } };
    log.push(stored);
    for (const subscription of subscriptions) deliver(subscription);
    return { replayId: stored.replayId, eventId: stored.event.id, sentAt: Date.now() };
  }

  function redeliver(replayId: Buffer): number {
    const stored = log.find((s) => s.replayId.equals(replayId));
    if (stored === undefined) return 0;
    for (const subscription of subscriptions) write(subscription, [stored]);
    return subscriptions.size;
  }

  function keepAlive(): void {
    for (const subscription of subscriptions) write(subscription, []);
  }

  function revokeTokens(): void {
    tokens.clear();
    for (const subscription of subscriptions) subscription.call.emit('error', serviceError(grpc.status.UNAUTHENTICATED, 'The request does not have valid authentication credentials for the operation', ERROR_CODE_AUTH));
    subscriptions.clear();
  }

  function expire(): void {
    // A gap, so every replay id handed out before is older than the retained stream.
    base += log.length + 1;
    log.length = 0;
  }

  async function close(): Promise<void> {
    for (const subscription of subscriptions) subscription.call.emit('error', serviceError(grpc.status.UNAVAILABLE, 'server shutting down'));
    subscriptions.clear();
    server.forceShutdown();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  return fake;
}

/** Opaque to clients, like Salesforce's: here a big-endian position. */
function replayIdOf(position: number): Buffer {
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(BigInt(position));
  return id;
}

/** The position a replay id stands for, or null for one this fake never issued. */
function positionOf(replayId: Buffer | undefined): number | null {
  return replayId === undefined || replayId.length !== 8 ? null : Number(replayId.readBigUInt64BE());
}

function serviceError(code: grpc.status, details: string, errorCode?: string): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (errorCode !== undefined) metadata.set('error-code', errorCode);
  return Object.assign(new Error(details), { code, details, metadata }) as grpc.ServiceError;
}

/** Why a JWT bearer assertion is refused, or null: RS256, iss the client id, exp within 3 minutes, signature by `publicKey`. */
function jwtProblem(assertion: string, publicKey: string | null): string | null {
  const [head, claims, signature] = assertion.split('.');
  if (head === undefined || claims === undefined || signature === undefined) return 'malformed assertion';
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
  const body = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: string; sub?: string; exp?: number };
  if (header.alg !== 'RS256') return 'alg must be RS256';
  if (body.iss !== FAKE_CLIENT_ID) return 'unknown client';
  if (typeof body.exp !== 'number' || body.exp * 1000 < Date.now() || body.exp * 1000 > Date.now() + 300_000) return 'expired or too long';
  if (publicKey === null || !createVerify('RSA-SHA256').update(`${head}.${claims}`).verify(publicKey, signature, 'base64url')) return 'invalid assertion signature';
  return null;
}
