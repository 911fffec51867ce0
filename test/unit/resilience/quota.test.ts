import t from 'tap';
import { UpstreamQuota, type SaverChange } from '../../../src/resilience/quota.js';
import { fakeClock } from '../../helpers/clock.js';

function quota() {
  const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
  const changes: SaverChange[] = [];
  const malformed: string[] = [];
  const q = new UpstreamQuota({ config: { enabled: true, threshold: 0.9 }, clock, onChange: (c) => changes.push(c), onMalformed: (f) => malformed.push(f) });
  return { clock, changes, malformed, q };
}

t.test('enters once at the threshold, leaves once when usage drops', async (t) => {
  const { changes, q } = quota();
  q.observe({ 'sforce-limit-info': 'api-usage=80000/100000' });
  t.equal(q.saving, false);
  q.observe({ 'sforce-limit-info': 'api-usage=90000/100000' });
  q.observe({ 'sforce-limit-info': 'api-usage=95000/100000' });
  t.equal(q.saving, true);
  t.same(changes.map((c) => [c.saving, c.reason]), [[true, 'usage']], 'logged once on entry');
  q.observe({ 'content-type': 'application/json' });
  t.equal(q.saving, true, 'a response without quota fields changes nothing');
  q.observe({ 'sforce-limit-info': 'api-usage=1000/100000' });
  t.equal(q.saving, false);
  t.same(changes.map((c) => [c.saving, c.reason]), [[true, 'usage'], [false, 'usage_dropped']]);
});

t.test('leaves by itself when the day rolls over, and its timer is gone', async (t) => {
  const { clock, changes, q } = quota();
  q.observe({ 'sforce-limit-info': 'api-usage=99000/100000' });
  t.equal(clock.pending(), 1);
  clock.advance(12 * 3_600_000 - 1);
  t.equal(q.saving, true);
  clock.advance(1);
  t.equal(q.saving, false);
  t.same(changes.at(-1)?.reason, 'window_ended');
  t.equal(clock.pending(), 0);
  t.same(q.state().last?.used, 99000, 'the last report is still shown');
});

t.test('Jira near-limit, and its reset time', async (t) => {
  const { clock, q } = quota();
  q.observe({ 'x-ratelimit-nearlimit': 'true', 'x-ratelimit-reset': '2026-01-01T12:05:00Z' });
  t.equal(q.state().savingReason, 'near_limit');
  clock.advance(5 * 60_000);
  t.equal(q.saving, false);
});

t.test('calls saved: in total and today (UTC)', async (t) => {
  const { clock, q } = quota();
  q.noteSaved();
  q.noteSaved();
  t.match(q.state(), { callsSaved: 2, callsSavedToday: 2 });
  clock.advance(12 * 3_600_000);
  t.match(q.state(), { callsSaved: 2, callsSavedToday: 0 });
  q.noteSaved();
  t.match(q.state(), { callsSaved: 3, callsSavedToday: 1 });
});

t.test('malformed fields: counted each time, reported once per field', async (t) => {
  const { malformed, q } = quota();
  q.observe({ 'sforce-limit-info': 'api-usage=?' });
  q.observe({ 'sforce-limit-info': 'api-usage=?' });
  t.same(malformed, ['sforce-limit-info']);
  t.equal(q.state().malformed, 2);
  t.equal(q.saving, false);
});

t.test('disabled: never on, but usage is still kept', async (t) => {
  const q = new UpstreamQuota({ config: { enabled: false, threshold: 0.9 }, clock: fakeClock() });
  q.observe({ 'sforce-limit-info': 'api-usage=100/100' });
  t.equal(q.saving, false);
  t.equal(q.state().last?.used, 100);
  t.equal(q.state().nearLimit, true, 'near the limit all the same');
});
