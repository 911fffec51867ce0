/**
 * In-process probe for encryption at rest: what sealing and opening add to one shared-tier read
 * and write of a 2 KB entry, in µs per operation, next to the plain envelope encode/decode the
 * tiers do anyway (src/cache/sealed-codec.ts). No socket, no Redis or Postgres: their round trip
 * (scenario 5) is the same with or without a key, so this is the whole added cost.
 *
 * Env: SIDECACHE_SRC (the built src/ dir; default the source tree), ITERATIONS (50000). Prints one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BODY } from './body.js';

type CodecModule = typeof import('../../src/cache/sealed-codec.js');
type SealModule = typeof import('../../src/cache/seal.js');

const srcDir = process.env['SIDECACHE_SRC'] || join(import.meta.dirname, '../../src');
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(srcDir, path)).href)) as T;
const { EntryCodec } = await load<CodecModule>('cache/sealed-codec.js');
const { KeyRing } = await load<SealModule>('cache/seal.js');

const ITERATIONS = Number(process.env['ITERATIONS'] ?? 50_000);
const WARMUP = 5_000;
// Stored compressed only above 8 KB (the Redis default), so a 2 KB body is sealed as it is.
const COMPRESS_ABOVE = 8 * 1024;

const now = Date.now();
const entry = {
  key: 'api:auth:0123456789abcdefghijkl:9mQ1c2xOlR5fZ2uW1qkQ6J7n0x8sVt3yB4aHc5dEe6f',
  upstream: 'api',
  path: '/services/data/v59.0/query?q=SELECT+Id,Name+FROM+Account+LIMIT+20',
  status: 200,
  headers: { 'content-type': 'application/json', etag: '"bench"', 'cache-control': 'max-age=300' },
  body: BODY,
  storedAt: now,
  expiresAt: now + 600_000,
  staleUntil: now + 1_200_000,
  tags: ['sf:query:account'],
  scope: 'authorization' as const,
};

/** µs per call of `op`, after a warm-up. */
async function usPerOp(op: () => unknown): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await op();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await op();
  return Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS;
}

const plain = new EntryCodec('redis', null);
const sealed = new EntryCodec('redis', KeyRing.parse(randomBytes(32).toString('base64'), null));
const plainStored = await plain.encode(entry, COMPRESS_ABOVE);
const sealedStored = await sealed.encode(entry, COMPRESS_ABOVE);

const result = {
  iterations: ITERATIONS,
  entryBytes: plainStored.length,
  sealedBytes: sealedStored.length,
  encodePlainUs: await usPerOp(() => plain.encode(entry, COMPRESS_ABOVE)),
  encodeSealedUs: await usPerOp(() => sealed.encode(entry, COMPRESS_ABOVE)),
  decodePlainUs: await usPerOp(() => plain.decode(plainStored, entry.key)),
  decodeSealedUs: await usPerOp(() => sealed.decode(sealedStored, entry.key)),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
