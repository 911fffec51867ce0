import t from 'tap';
import { ownedBuffer, ownedBytes } from '../../../src/cache/owned-bytes.js';

t.test('copies the chunks, in order, into a buffer that owns exactly its bytes', async (t) => {
  const chunks = [Buffer.from('{"id":'), Buffer.from('42'), Buffer.from('}')];
  const body = ownedBytes(chunks);
  t.equal(body.toString(), '{"id":42}');
  t.equal(body.byteOffset, 0, 'not a slice of a larger buffer');
  t.equal(body.buffer.byteLength, body.length, "no shared pool slab behind it (Buffer.concat would use Node's 8 KB pool)");
  chunks[1]![0] = 0x39;
  t.equal(body.toString(), '{"id":42}', 'a copy, not a view of the chunks');
});

t.test('takes the size when the caller has counted it, and handles no bytes', async (t) => {
  t.equal(ownedBytes([Buffer.from('ab'), Buffer.from('c')], 3).toString(), 'abc');
  t.equal(ownedBytes([]).length, 0);
});

t.test('ownedBuffer keeps a buffer that owns its memory and copies a pooled or sliced one', async (t) => {
  const own = Buffer.allocUnsafeSlow(16).fill(7);
  t.equal(ownedBuffer(own), own, 'the same buffer, no copy');
  const pooled = Buffer.from('a small body');
  t.ok(pooled.buffer.byteLength > pooled.length, "Buffer.from of a short string is a slice of Node's pool");
  const copied = ownedBuffer(pooled);
  t.not(copied, pooled);
  t.equal(copied.toString(), 'a small body');
  t.equal(copied.buffer.byteLength, copied.length);
});
