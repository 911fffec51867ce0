import t, { type Test } from 'tap';
import type { SessionsConfig } from '../../../src/config/types.js';
import type { SqlDatabase, SqlResult } from '../../../src/db/sql.js';
import { sessionIdFor, tokenHashFor } from '../../../src/sessions/identity.js';
import { SessionStore, type SessionStoreOptions } from '../../../src/sessions/sessions.js';
import { fakeClock } from '../../helpers/clock.js';
import { testSessionsConfig } from '../../helpers/config.js';

const CONFIG: SessionsConfig = testSessionsConfig;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A database that records statements and parameters; `mode` makes it fail or hang. */
function fakeDb() {
  const calls: Array<{ text: string; params: readonly unknown[] }> = [];
  const state = { mode: 'up' as 'up' | 'down' | 'hang' };
  const db: SqlDatabase = {
    kind: 'postgres',
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      calls.push({ text, params });
      if (state.mode === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      if (state.mode === 'hang') return new Promise(() => {});
      return { rows: [], rowCount: Array.isArray(params[0]) ? params[0].length : 0 };
    },
    withClient: () => Promise.reject(new Error('not used')),
    poolStats: () => ({ total: 1, idle: 1, waiting: 0, max: 1 }),
    close: async () => {},
  };
  return { db, calls, state };
}

function store(t: Test, options: Partial<SessionStoreOptions> = {}) {
  const clock = fakeClock();
  const logs: string[] = [];
  const sessions = new SessionStore({
    db: null,
    secret: 'secret',
    config: CONFIG,
    now: clock.now,
    log: (_obj, msg) => logs.push(msg),
    closeTimeoutMs: 200,
    ...options,
  });
  t.teardown(() => sessions.close());
  return { sessions, clock, logs };
}

t.test('session ids are derived from the token', async (t) => {
  const a = store(t).sessions;
  const b = store(t).sessions;
  const id = a.resolve('tok-1', null).sessionId;
  t.match(id, UUID_V4, 'a version-4 UUID string');
  t.equal(b.resolve('tok-1', null).sessionId, id, 'the same on another instance');
  t.equal(id, sessionIdFor('secret', 'tok-1'));
  t.not(a.resolve('tok-2', null).sessionId, id, 'another token, another id');
  t.not(store(t, { secret: 'other' }).sessions.resolve('tok-1', null).sessionId, id, 'another secret, another id');
});

t.test('the id and the token hash are different HMACs of the token', async (t) => {
  const hash = tokenHashFor('secret', 'tok');
  t.match(hash, /^[0-9a-f]{64}$/);
  t.notOk(hash.includes(sessionIdFor('secret', 'tok').replaceAll('-', '').slice(0, 12)));
});

t.test('mint gives 32 random bytes in hex', async (t) => {
  const { sessions } = store(t);
  const tokens = new Set(Array.from({ length: 100 }, () => sessions.mint()));
  t.equal(tokens.size, 100);
  for (const token of tokens) t.match(token, /^[0-9a-f]{64}$/);
});

t.test('resolve refuses a token that failed validation', async (t) => {
  const { sessions } = store(t);
  t.throws(() => sessions.resolve('a b', null), RangeError);
  t.throws(() => sessions.resolve('a'.repeat(257), null), RangeError);
});

t.test('without a database, resolve works and nothing is queued or written', async (t) => {
  const { sessions } = store(t);
  sessions.start();
  t.match(sessions.resolve('tok', 'alice').sessionId, UUID_V4);
  t.equal(await sessions.flush(), 0);
  t.equal(await sessions.cleanup(), 0);
  t.equal(await sessions.get(sessions.resolve('tok', null).sessionId), undefined);
  t.same(sessions.stats(), { pendingTouches: 0, flushed: 0, flushFailures: 0, dropped: 0 });
});

t.test('touches are queued once per session per interval and flushed in one statement', async (t) => {
  const { db, calls } = fakeDb();
  const { sessions, clock } = store(t, { db });
  for (let i = 0; i < 1000; i++) {
    sessions.resolve('tok-a', null);
    sessions.resolve('tok-b', 'bob');
    clock.advance(10);
  }
  t.equal(sessions.stats().pendingTouches, 2);
  t.equal(await sessions.flush(), 2);
  t.equal(calls.length, 1, 'one statement');
  t.match(calls[0]!.text, /INSERT INTO user_sessions/);
  t.equal(calls[0]!.params[0] instanceof Array && calls[0]!.params[0].length, 2);
  t.equal(await sessions.flush(), 0, 'nothing pending: no statement');
  t.equal(calls.length, 1);

  clock.advance(CONFIG.touchIntervalMs);
  sessions.resolve('tok-a', null);
  sessions.resolve('tok-a', null);
  t.equal(sessions.stats().pendingTouches, 1, 'a new touch after the interval');
  t.equal(await sessions.flush(), 1);
  t.same(sessions.stats(), { pendingTouches: 0, flushed: 3, flushFailures: 0, dropped: 0 });
});

t.test('a new user identifier within the interval is queued', async (t) => {
  const { db, calls } = fakeDb();
  const { sessions } = store(t, { db });
  sessions.resolve('tok', null);
  await sessions.flush();
  sessions.resolve('tok', null);
  sessions.resolve('tok', 'alice');
  sessions.resolve('tok', 'alice');
  sessions.resolve('tok', null);
  t.equal(sessions.stats().pendingTouches, 1);
  await sessions.flush();
  t.same(calls[1]!.params[2], ['alice']);
});

t.test('the token is never a statement parameter', async (t) => {
  const { db, calls } = fakeDb();
  const { sessions } = store(t, { db });
  const token = sessions.mint();
  sessions.resolve(token, 'alice');
  await sessions.flush();
  t.notOk(JSON.stringify(calls).includes(token));
  t.same(calls[0]!.params[1], [tokenHashFor('secret', token)]);
});

t.test('a dead database fails no resolve and loses no touch', async (t) => {
  const { db, state, calls } = fakeDb();
  const { sessions, clock, logs } = store(t, { db });
  state.mode = 'down';
  sessions.resolve('tok-a', null);
  await t.rejects(sessions.flush(), /ECONNREFUSED/);
  await t.rejects(sessions.flush(), /ECONNREFUSED/);
  t.equal(logs.filter((m) => m.includes('flush failed')).length, 1, 'logged once per outage');
  sessions.resolve('tok-b', null);
  clock.advance(CONFIG.touchIntervalMs);
  sessions.resolve('tok-a', 'alice');
  t.same(sessions.stats(), { pendingTouches: 2, flushed: 0, flushFailures: 2, dropped: 0 });

  state.mode = 'up';
  t.equal(await sessions.flush(), 2, 'recovered');
  t.ok(logs.includes('sessions: flush recovered'));
  const last = calls[calls.length - 1]!;
  const tokenA = (last.params[1] as string[]).indexOf(tokenHashFor('secret', 'tok-a'));
  t.equal((last.params[3] as number[])[tokenA], clock.now(), 'the newer touch of a session wins');
  t.equal((last.params[2] as Array<string | null>)[tokenA], 'alice');
});

t.test('the pending touches are bounded; the oldest are dropped and counted', async (t) => {
  const { db, state } = fakeDb();
  const { sessions } = store(t, { db, maxPending: 3 });
  state.mode = 'down';
  for (const token of ['t1', 't2', 't3', 't4']) sessions.resolve(token, null);
  t.same(sessions.stats(), { pendingTouches: 3, flushed: 0, flushFailures: 0, dropped: 1 });
  await t.rejects(sessions.flush());
  sessions.resolve('t5', null);
  t.equal(sessions.stats().pendingTouches, 3);
  t.equal(sessions.stats().dropped, 2);
  state.mode = 'up';
  t.equal(await sessions.flush(), 3);
});

t.test('a failed flush puts its touches back ahead of newer ones, newer touches winning, within the bound', async (t) => {
  for (const [maxPending, expected, dropped] of [
    [3, ['t1', 't2', 't3'], 0],
    [2, ['t2', 't3'], 1],
  ] as const) {
    const { db, state, calls } = fakeDb();
    let fail: (err: Error) => void = () => {};
    // The first statement hangs until the test fails it; later ones go to the fake database.
    const gated: SqlDatabase = {
      ...db,
      query: (text, params) => {
        if (calls.length > 0) return db.query(text, params);
        calls.push({ text, params: params ?? [] });
        return new Promise((_, reject) => {
          fail = reject;
        });
      },
    };
    const { sessions, clock } = store(t, { db: gated, maxPending });
    sessions.resolve('t1', null);
    sessions.resolve('t2', null);
    const inFlight = sessions.flush();
    t.equal(sessions.stats().pendingTouches, 0, 'taken by the flush in flight');
    clock.advance(CONFIG.touchIntervalMs);
    sessions.resolve('t3', null);
    sessions.resolve('t1', 'alice');
    fail(new Error('connection terminated'));
    await t.rejects(inFlight);
    t.same(sessions.stats(), { pendingTouches: expected.length, flushed: 0, flushFailures: 1, dropped });
    state.mode = 'up';
    await sessions.flush();
    const params = calls[1]!.params;
    const hashes = expected.map((token) => tokenHashFor('secret', token)).sort();
    t.same(params[1], hashes, `maxPending ${maxPending}: ${expected.join(', ')} written`);
    const t1 = (params[1] as string[]).indexOf(tokenHashFor('secret', 't1'));
    if (t1 !== -1) {
      t.equal((params[3] as number[])[t1], clock.now(), 'the newer touch of t1');
      t.equal((params[2] as Array<string | null>)[t1], 'alice');
    }
  }
});

t.test('resolve never waits for a hung database', async (t) => {
  const { db, state } = fakeDb();
  const { sessions } = store(t, { db });
  state.mode = 'hang';
  sessions.resolve('tok', null);
  void sessions.flush().catch(() => undefined);
  const started = performance.now();
  for (let i = 0; i < 1000; i++) sessions.resolve(`tok-${i}`, null);
  t.ok(performance.now() - started < 500);
});

t.test('close makes a final flush and gives up after closeTimeoutMs', async (t) => {
  const up = fakeDb();
  const a = store(t, { db: up.db }).sessions;
  a.resolve('tok', null);
  await a.close();
  t.equal(up.calls.length, 1, 'final flush');
  t.equal(a.stats().flushed, 1);
  a.resolve('tok-2', null);
  t.equal(a.stats().pendingTouches, 0, 'nothing queued after close');

  const hung = fakeDb();
  hung.state.mode = 'hang';
  const { sessions: b, logs } = store(t, { db: hung.db, closeTimeoutMs: 50 });
  b.resolve('tok', null);
  const started = Date.now();
  await b.close();
  t.ok(Date.now() - started < 1_000, 'bounded');
  t.ok(logs.some((m) => m.includes('timed out')));
});

t.test('cleanup deletes in batches up to a bound', async (t) => {
  const { db, calls } = fakeDb();
  const full: SqlDatabase = { ...db, query: async (text, params) => ({ ...(await db.query(text, params)), rowCount: 10 }) as never };
  const { sessions } = store(t, { db: full, cleanupBatchSize: 10 });
  t.equal(await sessions.cleanup(), 200, 'at most 20 batches per run');
  t.equal(calls.length, 20);
  t.match(calls[0]!.text, /DELETE FROM user_sessions/);
});

t.test('get rejects a malformed id without a query', async (t) => {
  const { db, calls } = fakeDb();
  const { sessions } = store(t, { db });
  t.equal(await sessions.get("x' OR 1=1"), undefined);
  t.equal(calls.length, 0);
});

t.test('options are checked', async (t) => {
  t.throws(() => new SessionStore({ db: null, secret: '', config: CONFIG }), TypeError);
  t.throws(() => new SessionStore({ db: null, secret: 's', config: CONFIG, maxPending: 0 }), TypeError);
});

t.test('start runs the flush timer; close stops it', async (t) => {
  const { db, calls } = fakeDb();
  const sessions = new SessionStore({ db, secret: 's', config: { ...CONFIG, touchIntervalMs: 100 } });
  sessions.start();
  sessions.resolve('tok', null);
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.equal(calls.filter((c) => c.text.includes('INSERT')).length, 1);
  t.equal(sessions.stats().flushed, 1);
  await sessions.close();
});
