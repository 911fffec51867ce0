import t from 'tap';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';

t.test('/healthz answers while alive; /readyz reports upstreams and tiers, and 503 while draining', async (t) => {
  const { app, startDraining } = await buildApp(
    testConfig([{ target: 'http://127.0.0.1:9', rules: [] }, { name: 'off', prefix: '/off', target: null }]),
    { logger: false },
  );
  t.teardown(() => app.close());

  const health = await app.inject('/healthz');
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  t.ok(health.headers['x-request-id']);

  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), {
    status: 'ready',
    upstreams: { api: { state: 'enabled', prefix: '/api', circuit: 'closed', pausedForMs: 0, limit: 32, inFlight: 0, queued: 0, quotaSaver: { on: false } }, off: { state: 'disabled', prefix: '/off' } },
    tiers: { memory: 'up' },
  });

  startDraining();
  const draining = await app.inject('/readyz');
  t.equal(draining.statusCode, 503);
  t.equal(draining.json().status, 'draining');
  t.equal(draining.headers['connection'], 'close', 'clients are told to reconnect elsewhere');
  t.equal((await app.inject('/healthz')).statusCode, 200, 'still alive while draining');
});
