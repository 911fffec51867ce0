import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The Pub/Sub API messages as @grpc/proto-loader hands them over (snake_case, bytes as Buffer, enums as names). */
export type ReplayPreset = 'LATEST' | 'EARLIEST' | 'CUSTOM';

export interface FetchRequest {
  topic_name?: string;
  replay_preset?: ReplayPreset;
  replay_id?: Buffer;
  num_requested: number;
}

export interface ConsumerEvent {
  event: { id: string; schema_id: string; payload: Buffer } | null;
  replay_id: Buffer;
}

export interface FetchResponse {
  events: ConsumerEvent[];
  latest_replay_id: Buffer;
  rpc_id: string;
  pending_num_requested: number;
}

export interface TopicInfo {
  topic_name: string;
  tenant_guid: string;
  can_publish: boolean;
  can_subscribe: boolean;
  schema_id: string;
  rpc_id: string;
}

export interface SchemaInfo {
  schema_json: string;
  schema_id: string;
  rpc_id: string;
}

/** The PubSub service client, as far as sidecache calls it. */
export interface PubSubClient extends grpc.Client {
  Subscribe(metadata: grpc.Metadata): grpc.ClientDuplexStream<FetchRequest, FetchResponse>;
  GetSchema(request: { schema_id: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<SchemaInfo>): grpc.ClientUnaryCall;
  GetTopic(request: { topic_name: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<TopicInfo>): grpc.ClientUnaryCall;
}

/** The generated client class; `service` is the definition a server implements. */
export interface PubSubConstructor {
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): PubSubClient;
  readonly service: grpc.ServiceDefinition;
}

/** `proto/salesforce/pubsub_api.proto`, found from this module (src/hooks/pubsub via tsx, dist/src/hooks/pubsub when built). */
export function protoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto', 'salesforce', 'pubsub_api.proto');
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no proto/salesforce/pubsub_api.proto found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let loaded: { PubSub: PubSubConstructor } | undefined;

/** The `eventbus.v1.PubSub` service: its client constructor and its `service` definition (for servers, such as the test fake). */
export function pubSubService(): { PubSub: PubSubConstructor } {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { eventbus: { v1: { PubSub: PubSubConstructor } } };
    loaded = { PubSub: pkg.eventbus.v1.PubSub };
  }
  return loaded;
}
