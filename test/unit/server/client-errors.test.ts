import t from 'tap';
import { classifyClientError, rawErrorResponse, requestLineOf } from '../../../src/server/client-errors.js';

t.test('parser and connection errors are blamed on the client, with the right answer', async (t) => {
  t.same(classifyClientError('HPE_HEADER_OVERFLOW', false), { code: 'request_header_too_large', answer: true });
  t.same(classifyClientError('HPE_INVALID_METHOD', false), { code: 'client_malformed_request', answer: true });
  t.same(classifyClientError('HPE_INVALID_HEADER_TOKEN', false), { code: 'client_malformed_request', answer: true });
  t.same(classifyClientError('HPE_INVALID_CHUNK_SIZE', true), { code: 'client_malformed_request', answer: true }, 'broken chunking mid-body');
  t.same(classifyClientError('ERR_HTTP_REQUEST_TIMEOUT', false), { code: 'request_timeout', answer: true });
  t.same(classifyClientError('ERR_HTTP_REQUEST_TIMEOUT', true), { code: 'request_body_timeout', answer: true });
  for (const code of ['ECONNRESET', 'HPE_INVALID_EOF_STATE', 'EPIPE']) {
    t.same(classifyClientError(code, true), { code: 'client_aborted', answer: false }, `${code} mid-request: the client left`);
    t.equal(classifyClientError(code, false), null, `${code} before a request head: no request to report`);
  }
  t.same(classifyClientError('ETIMEDOUT', true), { code: 'client_aborted', answer: false });
  t.equal(classifyClientError(undefined, false), null);
});

t.test('the request line is read from the bytes the parser refused, when they start with one', async (t) => {
  t.same(requestLineOf(Buffer.from('GET /salesforce/q?q=SELECT HTTP/1.1\r\nHost: x')), { method: 'GET', url: '/salesforce/q?q=SELECT' });
  t.same(requestLineOf(Buffer.from('aaaaaaaa')), { method: '-', url: '-' }, 'the tail of an over-long head');
  t.same(requestLineOf(undefined), { method: '-', url: '-' });
});

t.test('the raw answer is a complete HTTP/1.1 response with the JSON error body', async (t) => {
  const raw = rawErrorResponse('request_header_too_large', 'req-1');
  const [head, body] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  t.equal(lines[0], 'HTTP/1.1 431 Request Header Fields Too Large');
  t.ok(lines.includes('connection: close'));
  t.ok(lines.includes('x-request-id: req-1'));
  t.ok(lines.includes(`content-length: ${Buffer.byteLength(body!)}`));
  t.match(JSON.parse(body!), { error: 'request_header_too_large', requestId: 'req-1', message: /maxHeaderBytes/ });
});
