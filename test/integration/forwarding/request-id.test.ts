import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startProxy } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { head, rawExchange } from './raw-http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('a sane incoming x-request-id is echoed, forwarded and used in error bodies', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));

  const ok = await proxy.fetch('/api/x', { headers: { 'x-request-id': 'abc-123' } });
  t.equal(ok.status, 200);
  t.equal(ok.headers['x-request-id'], 'abc-123');
  t.equal(upstream.received[0]!.headers['x-request-id'], 'abc-123');

  const plain = 'Req.ID:42@host_01-' + 'x'.repeat(100);
  const echoed = await proxy.fetch('/api/x', { headers: { 'x-request-id': plain } });
  t.equal(echoed.headers['x-request-id'], plain, 'letters, digits and ._:@- up to 128 chars are kept');

  const failed = await proxy.fetch('/nope', { headers: { 'x-request-id': 'abc-123' } });
  t.equal(failed.status, 404);
  t.equal(failed.headers['x-request-id'], 'abc-123');
  t.equal((failed.json() as { requestId: string }).requestId, 'abc-123');
});

t.test('a missing or insane x-request-id is replaced by a generated UUID', async (t) => {
  const upstream = await startFakeUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, testConfig([{ target: upstream.url }]));
  const port = (proxy.app.server.address() as AddressInfo).port;

  const insane: Array<[string, string | string[] | undefined]> = [
    ['absent', undefined],
    ['300 chars', 'a'.repeat(300)],
    ['129 chars', 'a'.repeat(129)],
    ['spaces', 'abc 123'],
    ['double quote', 'abc"123'],
    ['single quote', "abc'123"],
    ['angle brackets', '<script>'],
    ['newline-ish percent', 'abc%0d%0a'],
    ['repeated header', ['abc-1', 'abc-2']],
    ['empty', ''],
  ];
  const seen = new Set<string>();
  for (const [label, value] of insane) {
    const before = upstream.received.length;
    const response = await proxy.fetch('/api/x', { headers: value === undefined ? {} : { 'x-request-id': value } });
    t.equal(response.status, 200, label);
    const id = response.headers['x-request-id'];
    t.match(id, UUID, `${label}: replaced by a UUID`);
    const forwarded = upstream.received[before]!;
    t.equal(forwarded.headers['x-request-id'], id, `${label}: the generated id is what goes upstream`);
    t.equal(forwarded.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'x-request-id').length, 1, `${label}: exactly one x-request-id upstream`);
    seen.add(String(id));

    const error = await proxy.fetch('/nope', { headers: value === undefined ? {} : { 'x-request-id': value } });
    t.match(error.headers['x-request-id'], UUID, `${label}: error response has a UUID`);
    t.equal((error.json() as { requestId: string }).requestId, error.headers['x-request-id'], `${label}: body requestId matches`);
    seen.add(String(error.headers['x-request-id']));
  }
  t.equal(seen.size, insane.length * 2, 'every generated id is distinct');

  // Control characters cannot be sent through undici; a raw tab exercises the same rule.
  const tabbed = await rawExchange(port, head('GET /api/x HTTP/1.1', 'Host: s', 'x-request-id: abc\t123', 'Connection: close'));
  t.match(tabbed.all('x-request-id')[0], UUID, 'a tab inside the id is refused');
});
