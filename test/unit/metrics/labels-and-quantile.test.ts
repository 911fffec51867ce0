import t from 'tap';
import { cacheLabel, methodLabel, statusClass, upstreamLabel } from '../../../src/metrics/labels.js';
import { histogramQuantile } from '../../../src/metrics/quantile.js';

t.test('labels come from bounded sets', async (t) => {
  t.equal(methodLabel('GET'), 'GET');
  t.equal(methodLabel('PATCH'), 'PATCH');
  t.equal(methodLabel('PROPFIND'), 'OTHER');
  t.equal(methodLabel('get'), 'OTHER', 'methods are case-sensitive (RFC 9110)');
  t.equal(statusClass(200), '2xx');
  t.equal(statusClass(304), '3xx');
  t.equal(statusClass(599), '5xx');
  t.equal(statusClass(799), '7xx', 'an upstream status above 599 is passed on, and counted as such');
  t.equal(statusClass(1000), 'error');
  t.equal(statusClass(null), 'error');
  t.equal(statusClass(42), 'error');
  t.equal(upstreamLabel(null), 'none');
  t.equal(upstreamLabel('salesforce'), 'salesforce');
  t.equal(cacheLabel('HIT'), 'hit');
  t.equal(cacheLabel('HIT'), 'hit', 'the same label the second time (it is remembered)');
  t.equal(cacheLabel('REVALIDATED'), 'revalidated');
  t.equal(cacheLabel(null), 'none');
});

t.test('histogramQuantile interpolates inside the bucket, as Prometheus does', async (t) => {
  const buckets = [
    { le: 0.1, count: 50 },
    { le: 0.2, count: 90 },
    { le: 0.4, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  t.equal(histogramQuantile(0.5, buckets), 0.1);
  t.ok(Math.abs(histogramQuantile(0.7, buckets)! - 0.15) < 1e-9);
  t.ok(Math.abs(histogramQuantile(0.95, buckets)! - 0.3) < 1e-9);
  t.equal(histogramQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 0 }]), null, 'no observations');
  t.equal(histogramQuantile(0.99, [{ le: 1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }]), 1, '+Inf bucket reports the highest finite bound');
  t.equal(histogramQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 4 }, { le: 0.5, count: 4 }]), 0.25, 'unsorted input is sorted');
});
