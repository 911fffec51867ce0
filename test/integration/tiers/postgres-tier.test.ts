import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ENTRY_FORMAT_VERSION, entrySize } from '../../../src/cache/entry.js';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { migrate, migrationsDir } from '../../../src/db/migrate.js';
import { openDatabase, type SqlDatabase } from '../../../src/db/sql.js';
import { databases, pgliteTemplate, testDatabaseOptions, type TestDatabase } from '../../helpers/database.js';
import { CONTRACT_START, runTierContract, testEntry } from '../../helpers/tier-contract.js';

/** The database with every statement text recorded, to count round trips. */
function recording(db: SqlDatabase): { db: SqlDatabase; statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    db: {
      kind: db.kind,
      query: (text, params) => {
        statements.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
        return db.query(text, params);
      },
      withClient: (fn) => db.withClient(fn),
      poolStats: () => db.poolStats(),
      close: () => db.close(),
    },
  };
}

/** A tier with no timers on a manual clock, closed when the test ends. */
function tier(t: Test, db: SqlDatabase, options: { sweepBatchSize?: number } = {}) {
  const clock = { now: CONTRACT_START };
  const pg = new PostgresTier({ db, now: () => clock.now, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: options.sweepBatchSize ?? 100 });
  t.teardown(() => pg.close());
  return { tier: pg, clock };
}

async function hitCount(db: SqlDatabase, key: string): Promise<string | undefined> {
  return (await db.query<{ hit_count: string }>('SELECT hit_count FROM api_cache WHERE cache_key = $1', [key])).rows[0]?.hit_count;
}

for (const target of await databases(t)) {
  t.test(`PostgresTier on ${target.name}`, async (t) => {
    const db: TestDatabase = await target.open(t, { migrate: true });

    await runTierContract(t, `PostgresTier on ${target.name}`, async (now) =>
      new PostgresTier({ db, now, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 100 }),
    );

    t.test('name is "postgres"', async (t) => {
      t.equal(tier(t, db).tier.name, 'postgres');
    });

    t.test('stores the row as the schema documents it', async (t) => {
      const { tier: pg, clock } = tier(t, db);
      const entry = testEntry(clock.now, { upstream: 'jira', path: '/rest/api/2/issue/A-1', tags: ['jira:issue:A-1'], scope: 'session' });
      await pg.set(entry);
      const { rows } = await db.query(
        `SELECT format, data_source, path, scope, status, headers, tags, size_bytes, hit_count,
                extract(epoch FROM created_at) * 1000 = $2 AS created_ok
         FROM api_cache WHERE cache_key = $1`,
        [entry.key, entry.storedAt],
      );
      t.same(rows[0], {
        format: ENTRY_FORMAT_VERSION,
        data_source: 'jira',
        path: '/rest/api/2/issue/A-1',
        scope: 'session',
        status: 200,
        headers: entry.headers,
        tags: ['jira:issue:A-1'],
        size_bytes: entrySize(entry),
        hit_count: '0',
        created_ok: true,
      });
    });

    t.test('timestamps are exact to the millisecond', async (t) => {
      const { tier: pg, clock } = tier(t, db);
      const instants = [1_700_000_000_001, 1_700_000_000_123, 1_699_999_999_999, 1_700_000_000_500, 4_102_444_800_007];
      for (const storedAt of instants) {
        clock.now = storedAt;
        const entry = testEntry(storedAt, { expiresAt: storedAt + 1, staleUntil: storedAt + 999_999_999 });
        await pg.set(entry);
        const got = await pg.get(entry.key);
        t.same([got?.storedAt, got?.expiresAt, got?.staleUntil], [entry.storedAt, entry.expiresAt, entry.staleUntil], `at ${storedAt}`);
      }
      clock.now = CONTRACT_START;
      const entry = testEntry(clock.now, { staleUntil: clock.now + 1 });
      await pg.set(entry);
      t.ok(await pg.get(entry.key), 'served 1 ms before staleUntil');
      clock.now += 1;
      t.equal(await pg.get(entry.key), undefined, 'not at staleUntil');
    });

    t.test('the clock is the injected one, not the server’s', async (t) => {
      const { tier: pg, clock } = tier(t, db);
      clock.now = Date.UTC(2001, 0, 1);
      const entry = testEntry(clock.now);
      await pg.set(entry);
      t.ok(await pg.get(entry.key), 'an entry from 2001 is live at 2001');
      t.equal((await pg.stats()).entries >= 1, true);
    });

    t.test('rows of another entry format are ignored', async (t) => {
      const { tier: pg, clock } = tier(t, db);
      await pg.clear();
      const entry = testEntry(clock.now);
      await pg.set(entry);
      await db.query('UPDATE api_cache SET format = $1 WHERE cache_key = $2', [ENTRY_FORMAT_VERSION + 1, entry.key]);
      t.equal(await pg.get(entry.key), undefined, 'not read');
      t.equal((await pg.stats()).entries, 0, 'not counted');
      await pg.set(entry);
      t.ok(await pg.get(entry.key), 'a set overwrites it with the current format');
    });

    t.test('hits are counted in memory and written in one batched UPDATE', async (t) => {
      const rec = recording(db);
      const { tier: pg, clock } = tier(t, rec.db);
      const a = testEntry(clock.now);
      const b = testEntry(clock.now);
      await pg.set(a);
      await pg.set(b);
      rec.statements.length = 0;
      for (let i = 0; i < 25; i++) pg.countHit(a.key);
      for (let i = 0; i < 3; i++) pg.countHit(b.key);
      pg.countHit('api:shared:no-such-key');
      t.same(rec.statements, [], 'no statement per hit');
      t.equal(await hitCount(db, a.key), '0', 'nothing written before the flush');
      t.equal(await pg.flushHits(), 3, 'three keys flushed');
      t.same(rec.statements, ['UPDATE api_cache'], 'one UPDATE for all of them');
      t.equal(await hitCount(db, a.key), '25');
      t.equal(await hitCount(db, b.key), '3');
      t.equal(await pg.flushHits(), 0, 'nothing left to flush');
      t.same(rec.statements, ['UPDATE api_cache'], 'and an empty flush sends nothing');
    });

    t.test('an overwrite keeps the hit count', async (t) => {
      const { tier: pg, clock } = tier(t, db);
      const entry = testEntry(clock.now);
      await pg.set(entry);
      pg.countHit(entry.key);
      pg.countHit(entry.key);
      await pg.flushHits();
      await pg.set({ ...entry, body: Buffer.from('newer'), storedAt: clock.now + 5 });
      t.equal(await hitCount(db, entry.key), '2');
    });

    t.test('close writes the pending hits', async (t) => {
      const clock = { now: CONTRACT_START };
      const pg = new PostgresTier({ db, now: () => clock.now, hitFlushIntervalMs: 60_000, sweepIntervalMs: 60_000, sweepBatchSize: 10 });
      const entry = testEntry(clock.now);
      await pg.set(entry);
      pg.countHit(entry.key);
      await pg.close();
      t.equal(await hitCount(db, entry.key), '1');
      pg.countHit(entry.key);
      await pg.close();
      t.equal(await hitCount(db, entry.key), '1', 'hits after close are not counted');
    });

    t.test('the flush timer writes hits by itself', async (t) => {
      const pg = new PostgresTier({ db, hitFlushIntervalMs: 20, sweepIntervalMs: 0, sweepBatchSize: 10 });
      t.teardown(() => pg.close());
      const entry = testEntry(Date.now());
      await pg.set(entry);
      pg.countHit(entry.key);
      for (let i = 0; i < 100 && (await hitCount(db, entry.key)) !== '1'; i++) await new Promise((r) => setTimeout(r, 20));
      t.equal(await hitCount(db, entry.key), '1');
    });

    t.test('the sweeper deletes expired rows in bounded batches', async (t) => {
      const rec = recording(db);
      const { tier: pg, clock } = tier(t, rec.db, { sweepBatchSize: 10 });
      await pg.clear();
      const expiring = Array.from({ length: 25 }, () => testEntry(clock.now, { expiresAt: clock.now + 500, staleUntil: clock.now + 1_000 }));
      const live = Array.from({ length: 5 }, () => testEntry(clock.now, { staleUntil: clock.now + 60_000 }));
      for (const e of [...expiring, ...live]) await pg.set(e);
      clock.now += 1_000;
      rec.statements.length = 0;
      t.equal(await pg.sweep(), 25, 'every expired row deleted');
      t.same(rec.statements, ['DELETE FROM', 'DELETE FROM', 'DELETE FROM'], 'in batches of 10, 10 and 5');
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM api_cache');
      t.equal(rows[0]!.n, '5', 'the live rows stay');
      for (const e of live) t.ok(await pg.get(e.key));
      t.equal(await pg.sweep(), 0, 'a second sweep finds nothing');
    });

    t.test('one sweep run is bounded; the next one continues', async (t) => {
      const { tier: pg, clock } = tier(t, db, { sweepBatchSize: 2 });
      await pg.clear();
      for (let i = 0; i < 45; i++) await pg.set(testEntry(clock.now, { expiresAt: clock.now + 1, staleUntil: clock.now + 2 }));
      clock.now += 2;
      t.equal(await pg.sweep(), 40, 'at most 20 batches per run');
      t.equal(await pg.sweep(), 5, 'the rest next time');
    });

    t.test('concurrent sweep() calls share one run', async (t) => {
      const { tier: pg, clock } = tier(t, db, { sweepBatchSize: 5 });
      await pg.clear();
      for (let i = 0; i < 7; i++) await pg.set(testEntry(clock.now, { expiresAt: clock.now + 1, staleUntil: clock.now + 2 }));
      clock.now += 2;
      const [a, b] = await Promise.all([pg.sweep(), pg.sweep()]);
      t.same([a, b], [7, 7]);
    });

    t.test('a bad sweepBatchSize is refused when built', async (t) => {
      t.throws(() => new PostgresTier({ db, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 0 }), TypeError);
    });

    t.test('database errors reject (the guarding wrapper handles them)', async (t) => {
      const broken: SqlDatabase = { ...recording(db).db, query: () => Promise.reject(new Error('connection lost')) };
      const { tier: pg, clock } = tier(t, broken);
      await t.rejects(pg.get('k'), /connection lost/);
      await t.rejects(pg.set(testEntry(clock.now)), /connection lost/);
      pg.countHit('k');
      await t.rejects(pg.flushHits(), /connection lost/);
      await pg.close(); // logs, does not throw
    });
  });
}

t.test('PGlite on disk: entries survive a close and reopen', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sidecache-pglite-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const options = testDatabaseOptions({ dataDir });
  const entry = testEntry(CONTRACT_START, { body: Buffer.from([0, 1, 2, 255]) });

  const first = await openDatabase({ ...options, pgliteTemplate: await pgliteTemplate() });
  await migrate(first, migrationsDir());
  const writer = new PostgresTier({ db: first, now: () => CONTRACT_START, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 10 });
  await writer.set(entry);
  writer.countHit(entry.key);
  await writer.close();
  await first.close();

  const second = await openDatabase(options);
  t.teardown(() => second.close());
  t.same(await migrate(second, migrationsDir()), { applied: [], skipped: readdirSync(migrationsDir()).filter((f) => f.endsWith('.sql')).sort() }, 'already migrated');
  const reader = new PostgresTier({ db: second, now: () => CONTRACT_START + 1, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 10 });
  t.teardown(() => reader.close());
  t.same(await reader.get(entry.key), entry, 'the entry is still there');
  t.equal(await hitCount(second, entry.key), '1', 'with the hit counted before close');
});
