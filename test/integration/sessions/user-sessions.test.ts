import t, { type Test } from 'tap';
import type { SessionsConfig } from '../../../src/config/types.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { tokenHashFor } from '../../../src/sessions/identity.js';
import { SessionStore, type SessionStoreOptions } from '../../../src/sessions/sessions.js';
import { fakeClock } from '../../helpers/clock.js';
import { databases, type TestDatabase } from '../../helpers/database.js';
import { testSessionsConfig } from '../../helpers/config.js';

const DAY = 86_400_000;
const CONFIG: SessionsConfig = testSessionsConfig;

/** The database with its statements counted, and a switch that makes every query fail as a dead server would. */
function wrapped(db: SqlDatabase): { db: SqlDatabase; statements: string[]; down: { value: boolean } } {
  const statements: string[] = [];
  const down = { value: false };
  return {
    statements,
    down,
    db: {
      kind: db.kind,
      query: (text, params) => {
        statements.push(text.trim().split(/\s+/).slice(0, 3).join(' '));
        if (down.value) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
        return db.query(text, params);
      },
      withClient: (fn) => db.withClient(fn),
      poolStats: () => db.poolStats(),
      close: () => db.close(),
    },
  };
}

interface Row {
  id: string;
  token_hash: string;
  user_identifier: string | null;
  preferences: Record<string, unknown>;
  created_at: number;
  last_accessed: number;
  expires_at: number;
}

async function rows(db: SqlDatabase): Promise<Row[]> {
  const result = await db.query<Row>(
    `SELECT id, token_hash, user_identifier, preferences,
            (extract(epoch FROM created_at) * 1000)::float8 AS created_at,
            (extract(epoch FROM last_accessed) * 1000)::float8 AS last_accessed,
            (extract(epoch FROM expires_at) * 1000)::float8 AS expires_at
     FROM user_sessions ORDER BY created_at, token_hash`,
  );
  return result.rows;
}

for (const target of await databases(t)) {
  t.test(`user_sessions on ${target.name}`, async (t) => {
    const db: TestDatabase = await target.open(t, { migrate: true });

    function store(t: Test, options: Partial<SessionStoreOptions> = {}) {
      const clock = fakeClock();
      const counted = wrapped(db);
      const sessions = new SessionStore({ db: counted.db, secret: 'secret', config: CONFIG, now: clock.now, ...options });
      t.teardown(async () => {
        await sessions.close();
        await db.query('DELETE FROM user_sessions');
      });
      return { sessions, clock, ...counted };
    }

    t.test('one row per token, shaped as the migration documents it', async (t) => {
      const { sessions, clock } = store(t);
      const start = clock.now();
      const { sessionId } = sessions.resolve('tok-a', 'alice');
      sessions.resolve('tok-b', null);
      t.equal(await sessions.flush(), 2);
      clock.advance(CONFIG.touchIntervalMs);
      sessions.resolve('tok-a', null);
      t.equal(await sessions.flush(), 1);
      const all = await rows(db);
      t.equal(all.length, 2);
      const a = all.find((r) => r.id === sessionId)!;
      t.same(a, {
        id: sessionId,
        token_hash: tokenHashFor('secret', 'tok-a'),
        user_identifier: 'alice',
        preferences: {},
        created_at: start,
        last_accessed: start + CONFIG.touchIntervalMs,
        expires_at: start + CONFIG.ttlMs,
      });
    });

    t.test('the same token gives the same row from another instance or after a restart', async (t) => {
      const first = store(t);
      const id = first.sessions.resolve('tok', null).sessionId;
      await first.sessions.flush();
      await first.sessions.close();
      const second = store(t);
      t.equal(second.sessions.resolve('tok', null).sessionId, id);
      await second.sessions.flush();
      t.same((await rows(db)).map((r) => r.id), [id]);
      const other = store(t, { secret: 'rotated' });
      t.not(other.sessions.resolve('tok', null).sessionId, id, 'another secret, another session');
    });

    t.test('the token appears in no column', async (t) => {
      const { sessions } = store(t);
      const token = sessions.mint();
      sessions.resolve(token, 'alice');
      await sessions.flush();
      const { rows: text } = await db.query<{ row: string }>('SELECT s::text AS row FROM user_sessions s');
      t.equal(text.length, 1);
      t.notOk(text[0]!.row.includes(token), text[0]!.row);
      t.notOk(text[0]!.row.includes(token.slice(0, 16)));
    });

    t.test('1000 requests within the interval make one touch and one statement', async (t) => {
      const { sessions, clock, statements } = store(t);
      const start = clock.now();
      for (let i = 0; i < 1000; i++) {
        sessions.resolve('busy', null);
        clock.advance(10);
      }
      t.equal(sessions.stats().pendingTouches, 1);
      t.equal(statements.length, 0, 'resolve issues no query');
      await sessions.flush();
      t.same(statements, ['INSERT INTO user_sessions']);
      t.equal((await rows(db))[0]!.last_accessed, start);

      clock.advance(CONFIG.touchIntervalMs);
      sessions.resolve('busy', null);
      t.equal(await sessions.flush(), 1, 'a new touch once the interval has passed');
      t.equal(statements.length, 2);
      t.equal((await rows(db))[0]!.last_accessed, clock.now());
    });

    t.test('touches write last_accessed forward only and keep a known user', async (t) => {
      const { sessions: a, clock } = store(t);
      const b = new SessionStore({ db, secret: 'secret', config: CONFIG, now: () => clock.now() - 5_000 });
      a.resolve('tok', 'alice');
      await a.flush();
      b.resolve('tok', null);
      await b.flush();
      const [row] = await rows(db);
      t.equal(row!.last_accessed, clock.now(), 'an older touch flushed later does not move it back');
      t.equal(row!.user_identifier, 'alice', 'a touch without user keeps the known one');
      await b.close();
    });

    t.test('several sessions are written in one statement', async (t) => {
      const { sessions, statements } = store(t);
      for (let i = 0; i < 500; i++) sessions.resolve(`tok-${i}`, i % 2 === 0 ? `user-${i}` : null);
      t.equal(await sessions.flush(), 500);
      t.equal(statements.length, 1);
      const { rows: count } = await db.query<{ n: string }>('SELECT count(*) AS n FROM user_sessions WHERE user_identifier IS NOT NULL');
      t.equal(count[0]!.n, '250');
    });

    t.test('cleanup deletes only expired sessions', async (t) => {
      const { sessions, clock } = store(t, { cleanupBatchSize: 2 });
      for (let i = 0; i < 5; i++) sessions.resolve(`old-${i}`, null);
      await sessions.flush();
      clock.advance(10 * DAY);
      const { sessionId: live } = sessions.resolve('young', null);
      await sessions.flush();
      clock.advance(CONFIG.ttlMs - 10 * DAY);
      t.equal(await sessions.cleanup(), 5, 'the five created 30 days ago, in batches of 2');
      t.same((await rows(db)).map((r) => r.id), [live]);
      t.equal(await sessions.cleanup(), 0);
    });

    t.test('an expired session used again is renewed as a fresh one', async (t) => {
      const { sessions, clock } = store(t);
      const { sessionId } = sessions.resolve('tok', 'alice');
      await sessions.flush();
      await db.query(`UPDATE user_sessions SET preferences = '{"theme":"dark"}'`);
      clock.advance(CONFIG.ttlMs + DAY);
      t.equal(sessions.resolve('tok', 'bob').sessionId, sessionId, 'same id');
      await sessions.flush();
      const [row] = await rows(db);
      t.same(row, {
        id: sessionId,
        token_hash: tokenHashFor('secret', 'tok'),
        user_identifier: 'bob',
        preferences: {},
        created_at: clock.now(),
        last_accessed: clock.now(),
        expires_at: clock.now() + CONFIG.ttlMs,
      });
    });

    t.test('a live session keeps created_at, expires_at and preferences', async (t) => {
      const { sessions, clock } = store(t);
      const start = clock.now();
      sessions.resolve('tok', null);
      await sessions.flush();
      await db.query(`UPDATE user_sessions SET preferences = '{"theme":"dark"}'`);
      clock.advance(CONFIG.ttlMs - 1);
      sessions.resolve('tok', null);
      await sessions.flush();
      const [row] = await rows(db);
      t.equal(row!.created_at, start);
      t.equal(row!.expires_at, start + CONFIG.ttlMs);
      t.same(row!.preferences, { theme: 'dark' });
      t.equal(row!.last_accessed, clock.now());
    });

    t.test('get returns the row for the admin API, never the token hash', async (t) => {
      const { sessions, clock } = store(t);
      const { sessionId } = sessions.resolve('tok', 'alice');
      await sessions.flush();
      const row = await sessions.get(sessionId);
      t.same(row, {
        id: sessionId,
        userIdentifier: 'alice',
        preferences: {},
        createdAt: clock.now(),
        lastAccessed: clock.now(),
        expiresAt: clock.now() + CONFIG.ttlMs,
        tokenHashPrefix: tokenHashFor('secret', 'tok').slice(0, 8),
      });
      t.equal(await sessions.get(sessions.resolve('unknown', null).sessionId), undefined);
      t.equal(await sessions.get('not-a-uuid'), undefined);
    });

    t.test('a dead database: resolve still answers at once, touches wait and are written on recovery', async (t) => {
      const { sessions, clock, down } = store(t);
      down.value = true;
      const started = performance.now();
      const { sessionId } = sessions.resolve('tok', 'alice');
      t.ok(performance.now() - started < 50, 'resolve does not wait');
      await t.rejects(sessions.flush(), /ECONNREFUSED/);
      await t.rejects(sessions.flush(), /ECONNREFUSED/);
      t.same(sessions.stats(), { pendingTouches: 1, flushed: 0, flushFailures: 2, dropped: 0 });
      t.equal(sessions.resolve('tok', 'alice').sessionId, sessionId);
      down.value = false;
      t.equal(await sessions.flush(), 1);
      const [row] = await rows(db);
      t.equal(row!.id, sessionId);
      t.equal(row!.last_accessed, clock.now());
      t.equal(sessions.stats().pendingTouches, 0);
    });

    t.test('a query the server rejects is kept and retried like an outage', async (t) => {
      const { sessions } = store(t);
      await db.query('ALTER TABLE user_sessions RENAME TO user_sessions_away');
      sessions.resolve('tok', null);
      await t.rejects(sessions.flush());
      await db.query('ALTER TABLE user_sessions_away RENAME TO user_sessions');
      t.equal(await sessions.flush(), 1);
      t.equal((await rows(db)).length, 1);
    });
  });
}
