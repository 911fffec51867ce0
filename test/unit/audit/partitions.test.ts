import t from 'tap';
import { monthPartition, parsePartitionName } from '../../../src/audit/partitions.js';

t.test('monthPartition: the UTC month containing an instant, and the months after it', async (t) => {
  t.same(monthPartition(Date.UTC(2026, 0, 31, 23, 59, 59, 999)), {
    name: 'audit_logs_y2026m01',
    from: Date.UTC(2026, 0, 1),
    to: Date.UTC(2026, 1, 1),
  });
  t.equal(monthPartition(Date.UTC(2026, 1, 1)).name, 'audit_logs_y2026m02', 'the upper bound is exclusive');
  t.same(monthPartition(Date.UTC(2026, 10, 15), 2), { name: 'audit_logs_y2027m01', from: Date.UTC(2027, 0, 1), to: Date.UTC(2027, 1, 1) }, 'across a year');
  t.equal(monthPartition(Date.UTC(2024, 1, 29), 12).name, 'audit_logs_y2025m02');
});

t.test('parsePartitionName: only audit_logs_yYYYYmMM names are monthly partitions', async (t) => {
  t.same(parsePartitionName('audit_logs_y2025m12'), { name: 'audit_logs_y2025m12', from: Date.UTC(2025, 11, 1), to: Date.UTC(2026, 0, 1) });
  t.equal(parsePartitionName('audit_logs_default'), null);
  t.equal(parsePartitionName('audit_logs_y2025m13'), null);
  t.equal(parsePartitionName('audit_logs_y2025m00'), null);
  t.equal(parsePartitionName('x_audit_logs_y2025m01'), null);
});
