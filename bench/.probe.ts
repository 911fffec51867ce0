import { startSidecache, startUpstream } from '/work/main/bench/lib/servers.js';
import { stopAll, stopChild } from '/work/main/bench/lib/children.js';
import { createBenchSchema, runPendingCleanups } from '/work/main/bench/lib/services.js';
const up = await startUpstream('u');
const db = await createBenchSchema();
try {
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const s = await startSidecache({ name: 'p', upstreamUrl: up.url, databaseUrl: db.url, postgresTier: false, audit: { enabled: true, spoolDir: '/tmp/probe-spool' } });
    console.log('healthy in', (performance.now() - t).toFixed(0), 'ms');
    await stopChild(s.child);
  }
  const t = performance.now();
  const s = await startSidecache({ name: 'p', upstreamUrl: up.url, audit: { enabled: false } });
  console.log('no-db healthy in', (performance.now() - t).toFixed(0), 'ms');
  await stopChild(s.child);
} finally { await db.drop(); await stopAll(); await runPendingCleanups(); }
