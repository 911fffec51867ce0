import t from 'tap';
import { request } from 'undici';
import { adminUrl } from '../../helpers/drill.js';
import { isAdminLine, startSidecacheProcess, writeConfig } from '../../helpers/process.js';

// Probes and scripts take "the proxy port answers" as "started"; the admin routes must be up by then.
t.test('the admin listener is listening before the proxy listener answers', async (t) => {
  const proc = await startSidecacheProcess(
    t,
    writeConfig(t, `
server: { host: 127.0.0.1, port: 0 }
cache: { keySecret: test }
upstreams:
  - { name: api, prefix: /api, target: "http://127.0.0.1:9" }
`),
  );
  const listening = proc.output.filter((line) => line.includes('Server listening at'));
  t.equal(listening.length, 2, 'both listeners had logged when the proxy listener did');
  t.ok(isAdminLine(listening[0]!), 'the admin listener logged first');
  t.notOk(isAdminLine(listening[1]!), 'the proxy listener logged last');

  const admin = await adminUrl(proc);
  t.not(admin, proc.url, 'two different listeners');
  for (const base of [admin, proc.url]) {
    const res = await request(`${base}/healthz`);
    t.equal(res.statusCode, 200, `${base === admin ? 'admin' : 'proxy'} /healthz answers`);
    await res.body.dump();
  }
});
