import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { AUDIT_LOAD_UPSTREAM, startAuditLoad } from '../../../bench/lib/audit-load.js';
import { stopAll } from '../../../bench/lib/children.js';
import { postgresOrSkip } from '../../helpers/database.js';

t.teardown(() => stopAll());

t.test('the audit-load child COPYs hit rows at the rate it is told, and pauses at 0', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { migrate: true });
  const load = await startAuditLoad(db.url!);
  t.teardown(() => load.stop());
  const count = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_logs WHERE upstream = $1', [AUDIT_LOAD_UPSTREAM])).rows[0]!.n);

  t.equal(await count(), 0, 'nothing written before a rate is set');
  await load.setRate(2_000);
  await sleep(1_000);
  await load.setRate(0);
  await sleep(200); // a COPY under way when the rate went to 0 finishes
  const written = await count();
  // 2,000 rows a second for about a second, in 25 ms batches; a loaded machine runs late.
  t.ok(written >= 1_000 && written <= 2_600, `about 2,000 rows in a second (${written})`);
  await sleep(300);
  t.equal(await count(), written, 'paused: no more rows');

  const row = (await db.query<Record<string, unknown>>('SELECT method, path, action, status, cache_outcome, cache_tier, session_id, user_identifier FROM audit_logs WHERE upstream = $1 LIMIT 1', [AUDIT_LOAD_UPSTREAM])).rows[0]!;
  t.same(row, {
    method: 'GET',
    path: '/items/1',
    action: 'bench.read',
    status: 200,
    cache_outcome: 'HIT',
    cache_tier: 'memory',
    session_id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    user_identifier: 'bench-user',
  }, 'a memory hit row, as the full child writes them');
  await t.rejects(load.setRate(Number.NaN), RangeError, 'a rate that is no number of rows is refused before it is sent');
  await t.rejects(load.setRate(-5), /0 or more \(got -5\)/);
  await load.setRate(0);
  t.pass('the child still takes rates after a refused one');
});
