import t from 'tap';
import { nextUtcMidnight, quotaWindowEnd, saverVerdict, type LastQuota } from '../../../src/resilience/quota-saver.js';

const NOON = Date.UTC(2026, 0, 1, 12);
const MIDNIGHT = Date.UTC(2026, 0, 2);
const on = { enabled: true, threshold: 0.9 };
const last = (input: Partial<LastQuota>): LastQuota => ({ used: null, limit: null, nearLimit: false, resetAt: null, reportedAt: NOON, ...input });

t.test('on at the threshold, off below it', async (t) => {
  t.same(saverVerdict(last({ used: 89_999, limit: 100_000 }), NOON, on), { saving: false });
  t.same(saverVerdict(last({ used: 90_000, limit: 100_000 }), NOON, on), { saving: true, reason: 'usage', until: MIDNIGHT });
  t.same(saverVerdict(last({ used: 50, limit: 100 }), NOON, { enabled: true, threshold: 0.5 }), { saving: true, reason: 'usage', until: MIDNIGHT });
});

t.test('near-limit turns it on whatever the figures', async (t) => {
  t.same(saverVerdict(last({ nearLimit: true }), NOON, on), { saving: true, reason: 'near_limit', until: MIDNIGHT });
});

t.test('the window ends at the reset time given, else at the next UTC midnight', async (t) => {
  t.equal(nextUtcMidnight(NOON), MIDNIGHT);
  t.equal(nextUtcMidnight(MIDNIGHT), MIDNIGHT + 86_400_000, 'midnight itself belongs to the new day');
  t.equal(quotaWindowEnd(last({ resetAt: NOON + 60_000 })), NOON + 60_000);
  t.equal(quotaWindowEnd(last({ resetAt: NOON - 1 })), MIDNIGHT, 'a reset in the past of the report is ignored');
  t.same(saverVerdict(last({ used: 95, limit: 100 }), MIDNIGHT, on), { saving: false }, 'the day rolled over');
});

t.test('disabled, or nothing reported: off', async (t) => {
  t.same(saverVerdict(last({ used: 99, limit: 100 }), NOON, { enabled: false, threshold: 0.9 }), { saving: false });
  t.same(saverVerdict(null, NOON, on), { saving: false });
});
