import t, { type Test } from 'tap';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { PostgresUpkeep } from '../../../src/cache/tiers/postgres-upkeep.js';
import type { SqlDatabase } from '../../../src/db/sql.js';
import { databases, type TestDatabase } from '../../helpers/database.js';
import { CONTRACT_START, testEntry } from '../../helpers/tier-contract.js';
import { hitCount, recording } from './helpers.js';

/** A tier and its upkeep, with no timers, on a manual clock; closed when the test ends. */
function setup(t: Test, db: SqlDatabase, sweepBatchSize = 100) {
  const clock = { now: CONTRACT_START };
  const pg = new PostgresTier({ db, now: () => clock.now });
  const upkeep = new PostgresUpkeep({ db, now: () => clock.now, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize });
  t.teardown(() => upkeep.close());
  return { tier: pg, upkeep, clock };
}

for (const target of await databases(t)) {
  t.test(`PostgresUpkeep on ${target.name}`, async (t) => {
    const db: TestDatabase = await target.open(t, { migrate: true });

    t.test('hits are counted in memory and written in one batched UPDATE', async (t) => {
      const rec = recording(db);
      const { tier: pg, upkeep, clock } = setup(t, rec.db);
      const a = testEntry(clock.now);
      const b = testEntry(clock.now);
      await pg.set(a);
      await pg.set(b);
      rec.statements.length = 0;
      for (let i = 0; i < 25; i++) upkeep.countHit(a.key);
      for (let i = 0; i < 3; i++) upkeep.countHit(b.key);
      upkeep.countHit('api:shared:no-such-key');
      t.same(rec.statements, [], 'no statement per hit');
      t.equal(await hitCount(db, a.key), '0', 'nothing written before the flush');
      t.equal(await upkeep.flushHits(), 3, 'three keys flushed');
      t.same(rec.statements, ['UPDATE api_cache'], 'one UPDATE for all of them');
      t.equal(await hitCount(db, a.key), '25');
      t.equal(await hitCount(db, b.key), '3');
      t.equal(await upkeep.flushHits(), 0, 'nothing left to flush');
      t.same(rec.statements, ['UPDATE api_cache'], 'and an empty flush sends nothing');
    });

    t.test('an overwrite keeps the hit count', async (t) => {
      const { tier: pg, upkeep, clock } = setup(t, db);
      const entry = testEntry(clock.now);
      await pg.set(entry);
      upkeep.countHit(entry.key);
      upkeep.countHit(entry.key);
      await upkeep.flushHits();
      await pg.set({ ...entry, body: Buffer.from('newer'), storedAt: clock.now + 5 });
      t.equal(await hitCount(db, entry.key), '2');
    });

    t.test('close writes the pending hits', async (t) => {
      const clock = { now: CONTRACT_START };
      const pg = new PostgresTier({ db, now: () => clock.now });
      const upkeep = new PostgresUpkeep({ db, now: () => clock.now, hitFlushIntervalMs: 60_000, sweepIntervalMs: 60_000, sweepBatchSize: 10 });
      const entry = testEntry(clock.now);
      await pg.set(entry);
      upkeep.countHit(entry.key);
      await upkeep.close();
      t.equal(await hitCount(db, entry.key), '1');
      upkeep.countHit(entry.key);
      await upkeep.close();
      t.equal(await hitCount(db, entry.key), '1', 'hits after close are not counted');
    });

    t.test('the flush timer writes hits by itself', async (t) => {
      const pg = new PostgresTier({ db });
      const upkeep = new PostgresUpkeep({ db, hitFlushIntervalMs: 20, sweepIntervalMs: 0, sweepBatchSize: 10 });
      t.teardown(() => upkeep.close());
      const entry = testEntry(Date.now());
      await pg.set(entry);
      upkeep.countHit(entry.key);
      for (let i = 0; i < 100 && (await hitCount(db, entry.key)) !== '1'; i++) await new Promise((r) => setTimeout(r, 20));
      t.equal(await hitCount(db, entry.key), '1');
    });

    t.test('the sweeper deletes expired rows in bounded batches', async (t) => {
      const rec = recording(db);
      const { tier: pg, upkeep, clock } = setup(t, rec.db, 10);
      await pg.clear();
      const expiring = Array.from({ length: 25 }, () => testEntry(clock.now, { expiresAt: clock.now + 500, staleUntil: clock.now + 1_000 }));
      const live = Array.from({ length: 5 }, () => testEntry(clock.now, { staleUntil: clock.now + 60_000 }));
      for (const e of [...expiring, ...live]) await pg.set(e);
      clock.now += 1_000;
      rec.statements.length = 0;
      t.equal(await upkeep.sweep(), 25, 'every expired row deleted');
      t.same(rec.statements, ['DELETE FROM', 'DELETE FROM', 'DELETE FROM'], 'in batches of 10, 10 and 5');
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM api_cache');
      t.equal(rows[0]!.n, '5', 'the live rows stay');
      for (const e of live) t.ok(await pg.get(e.key));
      t.equal(await upkeep.sweep(), 0, 'a second sweep finds nothing');
    });

    t.test('one sweep run is bounded; the next one continues', async (t) => {
      const { tier: pg, upkeep, clock } = setup(t, db, 2);
      await pg.clear();
      for (let i = 0; i < 45; i++) await pg.set(testEntry(clock.now, { expiresAt: clock.now + 1, staleUntil: clock.now + 2 }));
      clock.now += 2;
      t.equal(await upkeep.sweep(), 40, 'at most 20 batches per run');
      t.equal(await upkeep.sweep(), 5, 'the rest next time');
    });

    t.test('concurrent sweep() calls share one run', async (t) => {
      const { tier: pg, upkeep, clock } = setup(t, db, 5);
      await pg.clear();
      for (let i = 0; i < 7; i++) await pg.set(testEntry(clock.now, { expiresAt: clock.now + 1, staleUntil: clock.now + 2 }));
      clock.now += 2;
      const [a, b] = await Promise.all([upkeep.sweep(), upkeep.sweep()]);
      t.same([a, b], [7, 7]);
    });

    t.test('a bad sweepBatchSize is refused when built', async (t) => {
      t.throws(() => new PostgresUpkeep({ db, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 0 }), TypeError);
    });

    t.test('a failed flush rejects, and close only logs it', async (t) => {
      const broken: SqlDatabase = { ...recording(db).db, query: () => Promise.reject(new Error('connection lost')) };
      const { upkeep } = setup(t, broken);
      upkeep.countHit('k');
      await t.rejects(upkeep.flushHits(), /connection lost/);
      await upkeep.close(); // logs, does not throw
    });
  });
}
