import t from 'tap';
import { databases } from '../../helpers/database.js';
import { testEvent, testWriter } from './helpers.js';

for (const target of await databases(t)) {
  t.test(`audit.ipAddress and audit.userAgent on ${target.name}: applied before rows are written`, async (t) => {
    const db = await target.open(t, { migrate: true });
    const cases = [
      { ipAddress: 'truncated', userAgent: 'full', ip: ['203.0.113.0', '2001:db8:85a3::'], ua: 'curl/8.5' },
      { ipAddress: 'none', userAgent: 'none', ip: [null, null], ua: null },
      { ipAddress: 'full', userAgent: 'full', ip: ['203.0.113.77', '2001:db8:85a3:8d3::7348'], ua: 'curl/8.5' },
    ] as const;
    for (const c of cases) {
      await db.query('TRUNCATE audit_logs');
      const { writer } = testWriter(t, db, { config: { ipAddress: c.ipAddress, userAgent: c.userAgent, flushIntervalMs: 60_000 } });
      await writer.start();
      writer.record(testEvent(1, { clientIp: '203.0.113.77', userAgent: 'curl/8.5' }));
      writer.record(testEvent(2, { clientIp: '2001:db8:85a3:8d3::7348', userAgent: 'curl/8.5' }));
      await writer.flush();
      const { rows } = await db.query<{ client_ip: string | null; user_agent: string | null }>('SELECT client_ip, user_agent FROM audit_logs ORDER BY request_id');
      t.same(rows.map((r) => r.client_ip), c.ip, `${c.ipAddress}: client_ip`);
      t.same(rows.map((r) => r.user_agent), [c.ua, c.ua], `${c.userAgent}: user_agent`);
    }
  });
}
