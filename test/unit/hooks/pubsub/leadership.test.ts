import t from 'tap';
import { FeedLeadership } from '../../../../src/hooks/pubsub/leadership.js';
import { pglite, postgresOrSkip } from '../../../helpers/database.js';

t.test('postgres: one instance leads a feed; when it stops, a standby takes over', async (t) => {
  const postgres = await postgresOrSkip(t);
  if (postgres === null) return;
  const db = await postgres.open(t, { migrate: false });
  const other = await db.connect({ poolSize: 2 });
  const leading: string[] = [];
  const run = (name: string, database: typeof db | typeof other, stop: AbortController, feed = 'salesforce-pubsub:/data/ChangeEvents') =>
    new FeedLeadership({ db: database, ready: () => true }, feed, { pollMs: 20 }).run(
      async (lost) => {
        leading.push(name);
        await new Promise((resolve) => lost.addEventListener('abort', resolve, { once: true }));
      },
      stop.signal,
      () => undefined,
    );
  const stopA = new AbortController();
  const stopB = new AbortController();
  const stopC = new AbortController();
  const a = run('a', db, stopA);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const b = run('b', other, stopB);
  const c = run('c', other, stopC, 'salesforce-pubsub:/data/Other__chn');
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.same(leading.sort(), ['a', 'c'], 'b stands by while a leads the same feed; another feed has its own lock');
  stopA.abort();
  await a;
  const deadline = Date.now() + 2_000;
  while (!leading.includes('b') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(leading.includes('b'), 'b took over');
  stopB.abort();
  stopC.abort();
  await Promise.all([b, c]);
});

t.test('pglite: the one process leads without a lock; not before the database is ready', async (t) => {
  const db = await pglite.open(t, { migrate: false });
  let ready = false;
  let led = 0;
  const stop = new AbortController();
  const states: string[] = [];
  const running = new FeedLeadership({ db, ready: () => ready }, 'feed', { pollMs: 10 }).run(
    async (lost) => {
      led += 1;
      await new Promise((resolve) => lost.addEventListener('abort', resolve, { once: true }));
    },
    stop.signal,
    (state, error) => states.push(`${state}:${error ?? ''}`),
  );
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.equal(led, 0);
  t.match(states[0], /standby:the database is not ready/);
  ready = true;
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.equal(led, 1);
  stop.abort();
  await running;
});
