import t from 'tap';
import { ownedBytes } from '../../../src/cache/owned-bytes.js';

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
