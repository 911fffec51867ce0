import t from 'tap';
import { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { fakeClock } from '../../helpers/clock.js';

t.test('opens after the threshold of consecutive failures, not before', async (t) => {
  const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 });
  breaker.failure();
  breaker.failure();
  t.equal(breaker.state, 'closed');
  t.ok(breaker.allow());
  breaker.failure();
  t.equal(breaker.state, 'open');
  t.notOk(breaker.allow());
  t.equal(breaker.opens, 1);
});

t.test('a success resets the failure count', async (t) => {
  const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 });
  breaker.failure();
  breaker.success();
  breaker.failure();
  t.equal(breaker.state, 'closed');
});

t.test('after the cooldown one probe goes through; success closes, failure re-opens', async (t) => {
  const clock = fakeClock();
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000 }, clock.now);
  breaker.failure();
  clock.advance(999);
  t.equal(breaker.state, 'open');
  clock.advance(1);
  t.equal(breaker.state, 'half-open');
  t.ok(breaker.allow(), 'the probe');
  t.notOk(breaker.allow(), 'only one probe at a time');
  breaker.failure();
  t.equal(breaker.state, 'open', 'a failed probe re-opens for another cooldown');
  clock.advance(1000);
  t.ok(breaker.allow());
  breaker.success();
  t.equal(breaker.state, 'closed');
  t.ok(breaker.allow());
  t.equal(breaker.opens, 2);
});

t.test('trip() opens at once', async (t) => {
  const breaker = new CircuitBreaker({ failureThreshold: 5, cooldownMs: 1000 });
  breaker.trip();
  t.equal(breaker.state, 'open');
});
