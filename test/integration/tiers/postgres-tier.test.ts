import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ENTRY_FORMAT_VERSION, entrySize } from '../../../src/cache/entry.js';
import { PostgresTier } from '../../../src/cache/tiers/postgres.js';
import { PostgresUpkeep } from '../../../src/cache/tiers/postgres-upkeep.js';
import { migrate, migrationsDir } from '../../../src/db/migrate.js';
import { openDatabase, type SqlDatabase } from '../../../src/db/sql.js';
import { databases, pgliteTemplate, testDatabaseOptions, type TestDatabase } from '../../helpers/database.js';
import { CONTRACT_START, runTierContract, testEntry } from '../../helpers/tier-contract.js';
import { hitCount, recording } from './helpers.js';

/** A tier on a manual clock, closed when the test ends. */
function tier(t: Test, db: SqlDatabase) {
  const clock = { now: CONTRACT_START };
  const pg = new PostgresTier({ db, now: () => clock.now });
  t.teardown(() => pg.close());
  return { tier: pg, clock };
}


for (const target of await databases(t)) {
  t.test(`PostgresTier on ${target.name}`, async (t) => {
    const db: TestDatabase = await target.open(t, { migrate: true });

    await runTierContract(t, `PostgresTier on ${target.name}`, async (now) =>
      new PostgresTier({ db, now }),
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

    t.test('database errors reject (the guarding wrapper handles them)', async (t) => {
      const broken: SqlDatabase = { ...recording(db).db, query: () => Promise.reject(new Error('connection lost')) };
      const { tier: pg, clock } = tier(t, broken);
      await t.rejects(pg.get('k'), /connection lost/);
      await t.rejects(pg.set(testEntry(clock.now)), /connection lost/);
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
  const writer = new PostgresTier({ db: first, now: () => CONTRACT_START });
  const upkeep = new PostgresUpkeep({ db: first, now: () => CONTRACT_START, hitFlushIntervalMs: 0, sweepIntervalMs: 0, sweepBatchSize: 10 });
  await writer.set(entry);
  upkeep.countHit(entry.key);
  await upkeep.close();
  await writer.close();
  await first.close();

  const second = await openDatabase(options);
  t.teardown(() => second.close());
  t.same(await migrate(second, migrationsDir()), { applied: [], skipped: readdirSync(migrationsDir()).filter((f) => f.endsWith('.sql')).sort() }, 'already migrated');
  const reader = new PostgresTier({ db: second, now: () => CONTRACT_START + 1 });
  t.teardown(() => reader.close());
  t.same(await reader.get(entry.key), entry, 'the entry is still there');
  t.equal(await hitCount(second, entry.key), '1', 'with the hit counted before close');
});
