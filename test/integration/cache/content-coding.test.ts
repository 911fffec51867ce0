import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import t, { type Test } from 'tap';
import { startProxy, type ProxyResponse } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';

const auth = { authorization: 'Bearer user-a' };
const RECORD = { attributes: { type: 'Account' }, Id: '001000000000001AAA', Name: 'Acme', Description: 'x'.repeat(400) };
const RECORD_JSON = JSON.stringify(RECORD);
const RECORD_PATH = '/api/sobjects/Account/001000000000001AAA';

/** Answers like a real origin: gzip when asked for gzip, else br when asked, else identity. */
function negotiatingUpstream(body: string, extra: Record<string, string> = {}) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const asked = req.headers['accept-encoding'] ?? '';
    const headers: Record<string, string> = { 'content-type': 'application/json', etag: '"rec-v1"', vary: 'Accept-Encoding', ...extra };
    if (/\bgzip\b/.test(asked)) {
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(body));
    } else if (/\bbr\b/.test(asked)) {
      res.writeHead(200, { ...headers, 'content-encoding': 'br' });
      res.end(zlib.brotliCompressSync(body));
    } else {
      res.writeHead(200, headers);
      res.end(body);
    }
  };
}

async function recordProxy(t: Test, handler = negotiatingUpstream(RECORD_JSON), rule: { maxBodyBytes?: number } = {}) {
  const upstream = await startFakeUpstream(handler);
  t.teardown(() => upstream.close());
  // A JSON-only upstream, as the Salesforce preset declares: `Accept` is negotiated, not keyed raw.
  const proxy = await startProxy(
    t,
    testConfig([{ target: upstream.url, mediaTypes: ['application/json'], rules: [{ path: '/sobjects/:type/:id', ...rule }, { path: '/raw/:id', cache: false }] }]),
  );
  return { upstream, proxy };
}

/** What a client that decodes by `Content-Encoding` (node-fetch, jsforce, curl --compressed) reads. */
function decoded(response: ProxyResponse): string {
  const coding = response.headers['content-encoding'];
  if (coding === undefined) return response.body.toString('utf8');
  if (coding === 'gzip') return zlib.gunzipSync(response.body).toString('utf8');
  if (coding === 'br') return zlib.brotliDecompressSync(response.body).toString('utf8');
  if (coding === 'deflate') return zlib.inflateSync(response.body).toString('utf8');
  throw new Error(`unexpected coding ${String(coding)}`);
}

t.test('jsforce, curl and Node fetch reading one record: one upstream call, one entry, each decodes the same JSON', async (t) => {
  const { upstream, proxy } = await recordProxy(t);

  // jsforce 3 sends its requests through node-fetch 2, which asks for `gzip,deflate` and decodes.
  const jsforce = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip,deflate', accept: 'application/json' } });
  t.equal(jsforce.headers['x-cache'], 'MISS');
  t.equal(jsforce.headers['content-encoding'], 'gzip', 'the stored gzip goes to a gzip client as it is');
  t.same(JSON.parse(decoded(jsforce)), RECORD);

  // curl without --compressed sends no Accept-Encoding and prints the bytes it gets.
  const curl = await proxy.fetch(RECORD_PATH, { headers: { ...auth, accept: '*/*', 'user-agent': 'curl/8.5.0' } });
  t.equal(curl.headers['x-cache'], 'HIT');
  t.equal(curl.headers['content-encoding'], undefined, 'plain curl gets identity');
  t.equal(curl.headers['content-length'], String(Buffer.byteLength(RECORD_JSON)), 'Content-Length of the decoded body');
  t.same(JSON.parse(curl.body.toString('utf8')), RECORD);

  // curl --compressed lists what its build decodes.
  const curlCompressed = await proxy.fetch(RECORD_PATH, { headers: { ...auth, accept: '*/*', 'accept-encoding': 'deflate, gzip, br, zstd' } });
  t.equal(curlCompressed.headers['x-cache'], 'HIT');
  t.same(JSON.parse(decoded(curlCompressed)), RECORD);

  // Node's own fetch (undici) asks for `gzip, deflate` over http and decodes by itself.
  const nodeFetch = await fetch(proxy.url + RECORD_PATH, { headers: auth });
  t.equal(nodeFetch.status, 200);
  t.equal(nodeFetch.headers.get('x-cache'), 'HIT');
  t.same(await nodeFetch.json(), RECORD);

  t.equal(upstream.received.length, 1, 'one upstream call');
  t.equal(upstream.received[0]!.headers['accept-encoding'], 'gzip, br', "the proxy asks with its own Accept-Encoding, not the first client's");
  t.equal((await proxy.stack.stats())['memory']!.entries, 1, 'one entry');

  const other = await proxy.fetch(RECORD_PATH, { headers: { authorization: 'Bearer user-b', 'accept-encoding': 'gzip,deflate' } });
  t.equal(other.headers['x-cache'], 'MISS', 'the key stays per credential');
  t.equal(upstream.received.length, 2);
});

t.test('an identity-only client reading a gzip entry: decoded body, weak ETag, Vary, and a 304 on the weak tag', async (t) => {
  const { proxy } = await recordProxy(t);
  const first = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'identity' } });
  t.equal(first.headers['x-cache'], 'MISS', 'the first client is served from the response fetched with gzip');
  t.equal(first.headers['content-encoding'], undefined);
  t.equal(first.body.toString('utf8'), RECORD_JSON);
  t.equal(first.headers['etag'], 'W/"rec-v1"', 'a decoded body is another representation: its ETag is weak');
  t.equal(first.headers['vary'], 'Accept-Encoding');

  const hit = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'identity' } });
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.body.toString('utf8'), RECORD_JSON);
  t.equal(hit.headers['content-length'], String(Buffer.byteLength(RECORD_JSON)));
  t.equal(hit.headers['etag'], 'W/"rec-v1"');
  t.equal(proxy.hitLane.served, 0, 'a body to decode is left to the full path');

  const revalidated = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'identity', 'if-none-match': 'W/"rec-v1"' } });
  t.equal(revalidated.status, 304, 'the weakened tag still validates');
  t.equal(revalidated.headers['etag'], 'W/"rec-v1"', 'the 304 names the tag this client holds');
  t.equal(revalidated.headers['vary'], 'Accept-Encoding');

  const gzipClient = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip', 'if-none-match': '"rec-v1"' } });
  t.equal(gzipClient.status, 304);
  t.equal(gzipClient.headers['etag'], '"rec-v1"', 'the stored bytes keep their strong tag');
});

t.test('a br-only client gets br re-encoded from the gzip entry; a gzip client stays on the hit lane', async (t) => {
  const { upstream, proxy } = await recordProxy(t);
  await proxy.fetch(RECORD_PATH, { headers: auth });
  const br = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'br' } });
  t.equal(br.headers['x-cache'], 'HIT');
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.headers['content-length'], String(br.body.length));
  t.equal(zlib.brotliDecompressSync(br.body).toString('utf8'), RECORD_JSON);
  const again = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'br' } });
  t.same(again.body, br.body, 'the br variant is memoised');

  const lane = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip, deflate, br' } });
  t.equal(proxy.hitLane.served, 1, 'a client accepting the stored gzip is served by the lane');
  t.equal(lane.headers['content-encoding'], 'gzip');
  t.equal(lane.headers['vary'], 'Accept-Encoding');
  t.equal(lane.headers['etag'], '"rec-v1"');
  t.equal(zlib.gunzipSync(lane.body).toString('utf8'), RECORD_JSON);
  t.equal(upstream.received.length, 1);
});

t.test('RFC 9110 §7.7: a no-transform response goes to every client as the upstream coded it', async (t) => {
  const { upstream, proxy } = await recordProxy(t, negotiatingUpstream(RECORD_JSON, { 'cache-control': 'max-age=60, no-transform' }));
  const identity = { ...auth, 'accept-encoding': 'identity' };
  const miss = await proxy.fetch(RECORD_PATH, { headers: identity });
  t.equal(miss.headers['x-cache'], 'MISS');
  t.equal(miss.headers['content-encoding'], 'gzip', 'not decoded: the origin forbade transforming it');
  t.equal(miss.headers['etag'], '"rec-v1"', 'the stored bytes, so the strong tag');
  t.equal(zlib.gunzipSync(miss.body).toString('utf8'), RECORD_JSON);

  const hit = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'br' } });
  t.equal(hit.headers['x-cache'], 'HIT');
  t.equal(hit.headers['content-encoding'], 'gzip', 'not re-encoded to br either');
  t.equal(hit.headers['content-length'], String(hit.body.length));
  t.equal(zlib.gunzipSync(hit.body).toString('utf8'), RECORD_JSON);
  t.equal(proxy.hitLane.served, 1, 'the lane serves it too: the stored bytes are what every client gets');

  const revalidated = await proxy.fetch(RECORD_PATH, { headers: { ...identity, 'if-none-match': '"rec-v1"' } });
  t.equal(revalidated.status, 304, 'the strong tag of the bytes this client was sent validates');
  t.equal(revalidated.headers['etag'], '"rec-v1"');
  t.equal(upstream.received.length, 1);
});

t.test('a no-transform body too large to store is streamed as coded, even to an identity-only client', async (t) => {
  const large = JSON.stringify({ data: Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 10007).toString(36)) });
  const { proxy } = await recordProxy(t, negotiatingUpstream(large, { 'cache-control': 'no-transform' }), { maxBodyBytes: 1024 });
  const identityClient = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'identity' } });
  t.match(identityClient.headers['cache-status'], /detail=too-large/);
  t.equal(identityClient.headers['content-encoding'], 'gzip');
  t.equal(zlib.gunzipSync(identityClient.body).toString('utf8'), large);
});

t.test('an upstream that ignores Accept-Encoding: the identity entry goes to every client as it is', async (t) => {
  const { upstream, proxy } = await recordProxy(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(RECORD_JSON);
  });
  for (const acceptEncoding of ['gzip', 'br', 'identity', undefined]) {
    const headers: Record<string, string> = { ...auth, ...(acceptEncoding !== undefined && { 'accept-encoding': acceptEncoding }) };
    const response = await proxy.fetch(RECORD_PATH, { headers });
    t.equal(response.headers['content-encoding'], undefined, `${acceptEncoding ?? 'none'}: identity`);
    t.equal(response.body.toString('utf8'), RECORD_JSON);
    t.equal(response.headers['vary'], 'Accept-Encoding');
  }
  t.equal(upstream.received.length, 1);
});

t.test('a client that accepts nothing the proxy can produce gets 406', async (t) => {
  const { proxy } = await recordProxy(t);
  await proxy.fetch(RECORD_PATH, { headers: auth });
  const refused = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'zstd, identity;q=0' } });
  t.equal(refused.status, 406);
  t.equal(refused.json() && (refused.json() as { error: string }).error, 'not_acceptable');
  t.match(refused.headers['content-type'], /^application\/json/);
});

t.test('a corrupt gzip body: as it is to gzip clients, a 502 naming the cause to others, and the proxy stays up', async (t) => {
  const corrupt = zlib.gzipSync(RECORD_JSON).subarray(0, 40);
  const { proxy } = await recordProxy(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(corrupt);
  });
  const gzipClient = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip' } });
  t.equal(gzipClient.status, 200);
  t.same(gzipClient.body, corrupt, 'the bytes the upstream sent');

  for (let i = 0; i < 2; i++) {
    const plain = await proxy.fetch(RECORD_PATH, { headers: auth });
    t.equal(plain.status, 502);
    const body = plain.json() as { error: string; message: string };
    t.equal(body.error, 'upstream_undecodable_body');
    t.match(body.message, /gzip body could not be decoded/);
    t.equal(plain.headers['content-encoding'], undefined, 'the stored head is not sent with the error');
  }
  const stillUp = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip' } });
  t.equal(stillUp.status, 200);
});

t.test('a body too large to store is streamed, decoded for a client that does not accept its coding', async (t) => {
  // Not compressible, so the gzip body is over the rule's limit too.
  const large = JSON.stringify({ data: Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 10007).toString(36)) });
  const { proxy } = await recordProxy(t, negotiatingUpstream(large), { maxBodyBytes: 1024 });
  const plain = await proxy.fetch(RECORD_PATH, { headers: auth });
  t.equal(plain.status, 200);
  t.match(plain.headers['cache-status'], /detail=too-large/);
  t.equal(plain.headers['content-encoding'], undefined);
  t.equal(plain.body.toString('utf8'), large);
  const gzipClient = await proxy.fetch(RECORD_PATH, { headers: { ...auth, 'accept-encoding': 'gzip' } });
  t.equal(gzipClient.headers['content-encoding'], 'gzip');
  t.equal(zlib.gunzipSync(gzipClient.body).toString('utf8'), large);
});

t.test('a too-large body in a coding the proxy cannot decode: 502 at once, and the upstream body is released', async (t) => {
  let closed!: () => void;
  const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
  const { proxy } = await recordProxy(
    t,
    (_req, res) => {
      res.on('close', () => closed());
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'compress' });
      res.write(Buffer.alloc(4096, 1)); // over maxBodyBytes, and never ended
    },
    { maxBodyBytes: 1024 },
  );
  const plain = await proxy.fetch(RECORD_PATH, { headers: auth });
  t.equal(plain.status, 502);
  t.equal((plain.json() as { error: string }).error, 'upstream_undecodable_body');
  let timer: NodeJS.Timeout | undefined;
  const released = await Promise.race([upstreamClosed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)))]);
  clearTimeout(timer);
  t.ok(released, 'the upstream response was aborted, not left to time out');
});

t.test("a pass-through request forwards the client's own Accept-Encoding and streams the body unchanged", async (t) => {
  const { upstream, proxy } = await recordProxy(t);
  const response = await proxy.fetch('/api/raw/1', { headers: { ...auth, 'accept-encoding': 'br;q=1, identity;q=0.5' } });
  t.equal(upstream.received[0]!.headers['accept-encoding'], 'br;q=1, identity;q=0.5');
  t.equal(response.headers['content-encoding'], 'br');
  t.equal(zlib.brotliDecompressSync(response.body).toString('utf8'), RECORD_JSON);
  t.equal(response.headers['x-cache'], 'BYPASS');
});
