import t from 'tap';
import { auditEvent } from '../../../src/audit/events.js';
import { truncateIp, withPrivacy } from '../../../src/audit/privacy.js';

t.test('truncated keeps /24 of IPv4 and /48 of IPv6', async (t) => {
  const cases: Array<[string | null, string | null]> = [
    ['203.0.113.77', '203.0.113.0'],
    ['10.1.2.3', '10.1.2.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:0db8:0000:0042::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['2001:db8::192.0.2.33', '2001:db8:0::'],
    ['not an ip', null],
    ['', null],
    [null, null],
  ];
  for (const [ip, expected] of cases) t.equal(truncateIp(ip), expected, `${ip}`);
});

t.test('withPrivacy applies audit.ipAddress and audit.userAgent', async (t) => {
  const event = auditEvent({ requestId: 'r1', method: 'GET', path: '/x', action: 'a', status: 200, clientIp: '203.0.113.77', userAgent: 'curl/8.5' });
  t.equal(withPrivacy(event, { ipAddress: 'full', userAgent: 'full' }), event, 'full: the same event');
  t.match(withPrivacy(event, { ipAddress: 'truncated', userAgent: 'full' }), { clientIp: '203.0.113.0', userAgent: 'curl/8.5' });
  t.match(withPrivacy(event, { ipAddress: 'none', userAgent: 'none' }), { clientIp: null, userAgent: null, requestId: 'r1', path: '/x' });
  t.equal(event.clientIp, '203.0.113.77', 'the input is not changed');
});
