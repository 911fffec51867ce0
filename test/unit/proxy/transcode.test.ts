import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';
import t from 'tap';
import { decode, decodingStream, MAX_DECODED_BYTES, transcoded, UndecodableBodyError } from '../../../src/proxy/transcode.js';

const json = Buffer.from(JSON.stringify({ Id: '001000000000001', Name: 'Acme', rows: Array.from({ length: 50 }, (_, i) => ({ i })) }));

t.test('decodes gzip, br, zlib deflate and raw deflate, and stacked codings last first', async (t) => {
  t.same(await decode(zlib.gzipSync(json), ['gzip']), json);
  t.same(await decode(zlib.brotliCompressSync(json), ['br']), json);
  t.same(await decode(zlib.deflateSync(json), ['deflate']), json);
  t.same(await decode(zlib.deflateRawSync(json), ['deflate']), json, 'raw deflate, as some servers send it');
  t.same(await decode(zlib.brotliCompressSync(zlib.gzipSync(json)), ['gzip', 'br']), json);
  t.same(await decode(json, []), json, 'no coding: the body itself');
});

t.test('re-codes into what the client reads', async (t) => {
  const stored = zlib.gzipSync(json);
  t.same(await transcoded(stored, ['gzip'], 'identity'), json);
  t.same(zlib.brotliDecompressSync(await transcoded(stored, ['gzip'], 'br')), json);
  t.same(zlib.gunzipSync(await transcoded(zlib.brotliCompressSync(json), ['br'], 'gzip')), json);
  t.same(zlib.gunzipSync(await transcoded(json, [], 'gzip')), json, 'an identity body compressed for a client refusing identity');
});

t.test('variants are memoised per stored body and coding, in flight included', async (t) => {
  const stored = zlib.gzipSync(json);
  const first = transcoded(stored, ['gzip'], 'br');
  const concurrent = transcoded(stored, ['gzip'], 'br');
  t.equal(concurrent, first, 'a concurrent request joins the running job');
  const result = await first;
  t.equal(await transcoded(stored, ['gzip'], 'br'), result, 'a later request gets the same bytes, not a new run');
  t.not(transcoded(Buffer.from(stored), ['gzip'], 'br'), first, 'another Buffer is another body');
});

t.test('a body that cannot be decoded rejects with UndecodableBodyError, and the failure is memoised', async (t) => {
  const gz = zlib.gzipSync(json);
  const truncated = gz.subarray(0, gz.length - 10);
  const failed = transcoded(truncated, ['gzip'], 'identity');
  await t.rejects(failed, UndecodableBodyError);
  t.equal(transcoded(truncated, ['gzip'], 'identity'), failed, 'not decoded again on every hit');
  await t.rejects(transcoded(Buffer.from('not gzip at all'), ['gzip'], 'identity'), UndecodableBodyError);
  await t.rejects(transcoded(Buffer.from('x'), ['zstd'], 'identity'), { name: 'UndecodableBodyError', message: /cannot decode the zstd coding/ });
});

t.test('decoding stops at MAX_DECODED_BYTES (a decompression bomb is refused, not inflated)', async (t) => {
  const bomb = zlib.gzipSync(Buffer.alloc(MAX_DECODED_BYTES + 1));
  t.ok(bomb.length < 1024 * 1024, 'the compressed body is small');
  await t.rejects(decode(bomb, ['gzip']), UndecodableBodyError);
});

t.test('a streamed body is decoded for one known coding; otherwise there is no decoder', async (t) => {
  const decoder = decodingStream(['gzip'])!;
  t.same(await buffer(Readable.from([zlib.gzipSync(json)]).pipe(decoder)), json);
  t.same(await buffer(Readable.from([zlib.brotliCompressSync(json)]).pipe(decodingStream(['br'])!)), json);
  t.equal(decodingStream(['zstd']), null);
  t.equal(decodingStream(['gzip', 'br']), null);
});
