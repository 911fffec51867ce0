/**
 * In-process probe for the hit-path cost table: what each feature adds to one memory hit on the
 * hit lane, in ns per request, measured by calling the lane with a prepared request (no socket,
 * no Node HTTP) under configurations that differ by one feature at a time. Node's own HTTP work
 * (parsing, writing the head and body) is the same for every configuration and is measured over
 * real sockets by scenario 1 instead.
 *
 * Env: SIDECACHE_SRC (the built src/ dir), ITERATIONS (200000). Prints one JSON line.
 * The upstream is a local node:http server in this process, used once per configuration to fill.
 */
import { request as httpGet, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BODY } from './body.js';

type AppModule = typeof import('../../src/app.js');
type LoadModule = typeof import('../../src/config/load.js');
type EventsModule = typeof import('../../src/audit/events.js');
type CopyModule = typeof import('../../src/audit/copy-encoding.js');
type HitRowModule = typeof import('../../src/audit/hit-row.js');
type ServerSchemaModule = typeof import('../../src/config/schema/server.js');

const srcDir = process.env['SIDECACHE_SRC'];
if (srcDir === undefined || srcDir === '') throw new Error('SIDECACHE_SRC is not set');
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(srcDir, path)).href)) as T;
const { buildApp } = await load<AppModule>('app.js');
const { loadConfig } = await load<LoadModule>('config/load.js');
const { auditEvent } = await load<EventsModule>('audit/events.js');
const { encodeCopyChunk } = await load<CopyModule>('audit/copy-encoding.js');
const { auditCaller, auditRoute, HitRow } = await load<HitRowModule>('audit/hit-row.js');
const { ServerSchema } = await load<ServerSchemaModule>('config/schema/server.js');
/**
 * Each hit answered as soon as it is decided, so the whole hit is in the timed loop. Answering a
 * turn's hits together at its end is measured over sockets instead (scenario 1, hit-floor.ts);
 * builds from before that setting have no key for it.
 */
const answerAtOnce = 'batchHitWrites' in ServerSchema.properties ? ', batchHitWrites: false' : '';

const ITERATIONS = Number(process.env['ITERATIONS'] ?? 200_000);
const WARMUP = 50_000;
/** The audit writer's default batch size. */
const CHUNK = 500;
/** Audited rows are written to an embedded PGlite between chunks, which is slow: fewer of them. */
const AUDITED_ITERATIONS = 50_000;

const origin = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length }).end(BODY));
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
const dir = mkdtempSync(join(tmpdir(), 'sidecache-hit-costs-'));

interface Variant {
  readonly name: string;
  readonly scope: 'shared' | 'authorization';
  readonly audit: boolean;
  readonly headers: Record<string, string>;
  /** The request target; absent = `/bench/items/1`. */
  readonly url?: string;
}

/** A Salesforce-style query string (SOQL, plus a parameter audit rows redact). */
const SOQL_URL = '/bench/items/1?q=SELECT+Id%2C+Name%2C+Status__c+FROM+Deployment__c+WHERE+Status__c+%3D+%27Open%27+LIMIT+50&access_token=bench-secret';

const VARIANTS: Variant[] = [
  { name: 'lane', scope: 'shared', audit: false, headers: {} },
  { name: 'credential partition', scope: 'authorization', audit: false, headers: { authorization: 'Bearer bench-token' } },
  { name: 'session and user', scope: 'authorization', audit: false, headers: { authorization: 'Bearer bench-token', 'x-session-token': 'bench-session-1', 'x-user-id': 'bench-user' } },
  { name: 'audit row', scope: 'authorization', audit: true, headers: { authorization: 'Bearer bench-token', 'x-session-token': 'bench-session-1', 'x-user-id': 'bench-user' } },
  { name: 'a SOQL query string (longer key, redacted query in the row)', scope: 'authorization', audit: true, headers: { authorization: 'Bearer bench-token', 'x-session-token': 'bench-session-1', 'x-user-id': 'bench-user' }, url: SOQL_URL },
];

function configFile(variant: Variant, index: number): string {
  const path = join(dir, `config-${index}.yaml`);
  writeFileSync(
    path,
    `server: { host: 127.0.0.1, port: 0, logLevel: warn${answerAtOnce} }
admin: { host: 127.0.0.1, port: 0 }
cache: { keySecret: bench-secret, namespace: bench, memory: { enabled: true }, redis: { url: "" }, postgres: { enabled: false } }
database: { url: "", dataDir: ${JSON.stringify(join(dir, `data-${index}`))} }
audit: { enabled: ${variant.audit}, spoolDir: ${JSON.stringify(join(dir, `spool-${index}`))} }
upstreams:
  - { name: bench, prefix: /bench, target: ${originUrl}, rules: [{ path: /items/:id, ttl: 1h, scope: ${variant.scope} }] }
`,
  );
  return path;
}

/** Fills the entry over a real socket, so the lane has a memory hit to serve. */
function fill(port: number, path: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
}

const declined = (): never => {
  throw new Error('the lane handed a hit it had taken to the full path');
};

async function laneNsPerHit(variant: Variant, index: number): Promise<number> {
  const { config } = loadConfig({ path: configFile(variant, index), env: {} });
  const sidecache = await buildApp(config, { logger: false });
  try {
    await sidecache.app.listen({ host: '127.0.0.1', port: 0 });
    const url = variant.url ?? '/bench/items/1';
    await fill((sidecache.app.server.address() as AddressInfo).port, url, variant.headers);
    const rawHeaders = Object.entries(variant.headers).flat();
    const req = { method: 'GET', url, headers: { host: 'bench', ...variant.headers }, rawHeaders, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
    const res = { writeHead: () => res, end: () => res } as unknown as ServerResponse;
    const lane = sidecache.hitLane;
    const iterations = variant.audit ? AUDITED_ITERATIONS : ITERATIONS;
    // Timed in chunks of one audit batch, with the writer's flush between them (not timed), as a
    // running server flushes every batchSize rows: rows never pile up in memory here either.
    let elapsed = 0n;
    for (let done = -WARMUP; done < iterations; done += CHUNK) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < CHUNK; i++) if (!lane.serve(req, res, declined)) throw new Error(`${variant.name}: the lane declined a fresh hit`);
      if (done >= 0) elapsed += process.hrtime.bigint() - started;
      await sidecache.audit?.flush();
    }
    return Number(elapsed) / iterations;
  } finally {
    await sidecache.app.close();
  }
}

/** ns per row to normalise and COPY-encode a batch: lane hit rows, and plain events (any other request). */
function auditFlushNsPerRow(): { hit: number; event: number } {
  const fields = {
    requestId: '5f0c6a3e-3f7e-4a55-9d7b-2b1c9a1e0f11', ts: Date.now(), sessionId: '1b4e28ba-2fa1-41d2-883f-0016d3cca427', userIdentifier: 'bench-user',
    upstream: 'bench', method: 'GET', path: '/items/1', query: null, action: 'bench.items', resourceType: null, resourceId: null, status: 200,
    cacheOutcome: 'HIT', cacheTier: 'memory', totalMs: 0.041, upstreamMs: null, requestBytes: 0, responseBytes: 2048, clientIp: '127.0.0.1',
    userAgent: 'wrk', errorCode: null,
  } as const;
  const route = auditRoute(fields);
  const caller = auditCaller(fields, { ipAddress: 'full', userAgent: 'full' });
  const events = Array.from({ length: CHUNK }, () => ({ ...fields }));
  const hits = Array.from({ length: CHUNK }, () => new HitRow(fields.requestId, fields.ts, 200, fields.totalMs, 2048, route, caller));
  const rounds = Math.max(10, Math.floor(ITERATIONS / CHUNK));
  const perRow = (flush: () => unknown): number => {
    for (let i = 0; i < 20; i++) flush();
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) flush();
    return Number(process.hrtime.bigint() - started) / (rounds * CHUNK);
  };
  return {
    hit: perRow(() => encodeCopyChunk(hits.map((row) => row.normalise()))),
    event: perRow(() => encodeCopyChunk(events.map(auditEvent))),
  };
}

try {
  const lane: Record<string, number> = {};
  for (const [index, variant] of VARIANTS.entries()) {
    lane[variant.name] = await laneNsPerHit(variant, index);
    process.stderr.write(`hit-costs: ${variant.name} ${lane[variant.name]!.toFixed(0)} ns\n`);
  }
  const result = { iterations: ITERATIONS, laneNs: lane, auditFlushNsPerRow: auditFlushNsPerRow() };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  origin.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
