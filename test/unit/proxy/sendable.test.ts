import t from 'tap';
import { refusedToBuild, upstreamError } from '../../../src/proxy/forwarder.js';
import { unsendableReason } from '../../../src/proxy/sendable.js';

t.test('unsendableReason names what undici would refuse', async (t) => {
  t.equal(unsendableReason('GET', '/a/b?q=1', ['accept', 'application/json', 'x-name', 'caf\u00e9\there']), null);
  t.match(unsendableReason('GET', '/a', ['x-a', 'ok', 'x-trace', 'a\r\nb']), /header "x-trace": must not contain CR or LF/);
  t.match(unsendableReason('GET', '/a', ['x-trace', 'a\u0000b']), /must not contain control characters \(U\+0000 at 1\)/);
  t.match(unsendableReason('GET', '/a', ['x-trace', '\u2603']), /above U\+00FF/);
  t.match(unsendableReason('GET', '/a', ['bad name', 'x']), /not an HTTP token/);
  t.match(unsendableReason('GET', '/a', ['Transfer-Encoding', 'chunked']), /cannot be forwarded/);
  t.match(unsendableReason('G T', '/a', []), /method/);
  t.match(unsendableReason('GET', '/a b', []), /path/);
});

t.test('an undici refusal is not an upstream failure, and maps to request_not_forwardable', async (t) => {
  const refusal = Object.assign(new Error('invalid x-trace header'), { code: 'UND_ERR_INVALID_ARG' });
  t.equal(refusedToBuild(refusal), true);
  t.equal(refusedToBuild(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), false);
  t.equal(refusedToBuild(null), false);
  t.equal(upstreamError(refusal).code, 'request_not_forwardable');
  t.equal(upstreamError(refusal).status, 400);
});
