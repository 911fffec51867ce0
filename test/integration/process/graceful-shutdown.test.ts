import t from 'tap';
import { Agent, request } from 'undici';
import { startFakeUpstream } from '../../helpers/fake-upstream.js';
import { startSidecacheProcess, writeConfig } from '../../helpers/process.js';

function config(upstreamUrl: string, grace: string): string {
  return `
server: { host: 127.0.0.1, port: 0, shutdownGrace: ${grace} }
cache: { keySecret: test }
upstreams:
  - name: api
    prefix: /api
    target: ${upstreamUrl}
    rules:
      - { path: /cached/:id, ttl: 1m }
`;
}

const slowUpstream = (delayMs: number) =>
  startFakeUpstream(async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    res.setHeader('content-type', 'text/plain');
    res.end('done');
  });

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

t.test('SIGTERM lets in-flight requests finish, refuses new connections, and exits 0', async (t) => {
  const upstream = await slowUpstream(800);
  t.teardown(() => upstream.close());
  const proc = await startSidecacheProcess(t, writeConfig(t, config(upstream.url, '10s')));
  const agent = new Agent({ connections: 20 });
  t.teardown(() => agent.close());

  const inflight = ['/api/cached/1', '/api/cached/2', '/api/pass/3', '/api/pass/4'].map(async (path) => {
    const response = await request(proc.url + path, { dispatcher: agent });
    return { status: response.statusCode, body: await response.body.text(), connection: response.headers['connection'] };
  });
  await waitFor(() => upstream.received.length === 4, 5_000);
  proc.child.kill('SIGTERM');

  const results = await Promise.all(inflight);
  t.same(results.map((r) => [r.status, r.body]), Array(4).fill([200, 'done']), 'every in-flight request completed');
  t.equal(await proc.exited, 0, 'exit status 0');
  await t.rejects(request(`${proc.url}/healthz`), 'no new connections after exit');
  t.ok(proc.output.some((line) => line.includes('draining in-flight requests')));
});

t.test('SIGTERM with a request outliving the grace period closes it and exits 1', async (t) => {
  const upstream = await slowUpstream(5_000);
  t.teardown(() => upstream.close());
  const proc = await startSidecacheProcess(t, writeConfig(t, config(upstream.url, '300ms')));

  const stuck = request(`${proc.url}/api/slow`).then(
    (response) => response.body.text().then(() => 'answered'),
    () => 'cut off',
  );
  await waitFor(() => upstream.received.length === 1, 5_000);
  const started = Date.now();
  proc.child.kill('SIGTERM');
  t.equal(await proc.exited, 1, 'exit status 1 after the grace period');
  t.ok(Date.now() - started < 3_000, 'did not wait for the slow upstream');
  t.equal(await stuck, 'cut off');
  t.ok(proc.output.some((line) => line.includes('grace period expired')));
});

t.test('an invalid config file exits 1 with one line per problem and no stack trace', async (t) => {
  const path = writeConfig(t, 'upstreams:\n  - name: a\n    prefix: /a\n    target: ftp://nope\n  - name: b\n    prefix: b\n    target: http://x\n');
  await t.rejects(startSidecacheProcess(t, path), /exited \(1\)/);
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PROXY_CONFIG: path },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(result.status, 1);
  t.match(result.stderr, /^invalid config .*:\n/);
  t.match(result.stderr, /upstreams\[0\]\.target: must be an absolute http\(s\) URL/);
  t.match(result.stderr, /upstreams\[1\]\.prefix: /);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
});
