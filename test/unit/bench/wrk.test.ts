import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { CONNECT_FIRST_MS, runWrk } from '../../../bench/lib/wrk.js';
import { missingService } from '../../helpers/services.js';

const CONNECTIONS = 20;

/** A node:http server that notes how many connections it had accepted when its first request came. */
async function countingServer(t: Test) {
  let accepted = 0;
  let acceptedAtFirstRequest = -1;
  let firstRequestAt = 0;
  const server = createServer((_req, res) => {
    if (acceptedAtFirstRequest < 0) {
      acceptedAtFirstRequest = accepted;
      firstRequestAt = performance.now();
    }
    res.end('ok');
  });
  server.on('connection', () => (accepted += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    get acceptedAtFirstRequest() {
      return acceptedAtFirstRequest;
    },
    get firstRequestAt() {
      return firstRequestAt;
    },
  };
}

t.test('runWrk against a real wrk', async (t) => {
  if (spawnSync('wrk', ['-v']).error !== undefined) {
    missingService(t, { message: 'wrk is not installed (apt-get install -y wrk)', skipped: "the bench's wrk runs are SKIPPED.", label: 'wrk tests' });
    return;
  }

  t.test('by default every connection is open before the first request, and req/s leaves the pause out', async (t) => {
    const server = await countingServer(t);
    const started = performance.now();
    const run = await runWrk({ url: server.url, connections: CONNECTIONS, seconds: 1 });
    // wrk may open one more, to learn the address, before its load connections.
    t.ok(server.acceptedAtFirstRequest >= CONNECTIONS, `${server.acceptedAtFirstRequest} connections accepted before the first request`);
    t.ok(server.firstRequestAt - started >= CONNECT_FIRST_MS, `first request ${Math.round(server.firstRequestAt - started)} ms after wrk started`);
    // wrk's duration is the run's measured length: the asked-for second, or up to 0.1 s more
    // (wrk checks for the end on a 100 ms timer). Less the pause, that is 0.8–0.9 s under load.
    t.ok(run.seconds > 1 - CONNECT_FIRST_MS / 1000 - 0.05 && run.seconds < 1.15 - CONNECT_FIRST_MS / 1000, `load ran ${run.seconds} s`);
    t.ok(run.requests > 0, `${run.requests} responses`);
    t.equal(run.rps, run.requests / run.seconds);
  });

  t.test('connectFirst: false starts the load at once', async (t) => {
    const server = await countingServer(t);
    const started = performance.now();
    const run = await runWrk({ url: server.url, connections: CONNECTIONS, seconds: 1, connectFirst: false });
    t.ok(server.firstRequestAt - started < CONNECT_FIRST_MS, `first request ${Math.round(server.firstRequestAt - started)} ms after wrk started`);
    t.ok(run.seconds > 0.95 && run.seconds < 1.15, `load ran ${run.seconds} s`);
    t.ok(run.requests > 0, `${run.requests} responses`);
  });
});
