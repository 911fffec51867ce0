import { spawnSync } from 'node:child_process';
import t from 'tap';
import { MAX_LISTED_PROBLEMS } from '../../../src/config/load.js';
import { writeConfig } from '../../helpers/process.js';
import { mergedIntoEveryUpstream } from '../../unit/config/fixtures/merged-config.js';

// Issue 11, as reported: 2 000 bad keys merged into 50 upstreams printed 100 002 lines on stderr.
t.test('a merge key aliased into 50 upstreams prints 52 lines, not 100 002', async (t) => {
  const path = writeConfig(t, mergedIntoEveryUpstream(2000, 50), { defaults: false });
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, PROXY_CONFIG: path }, encoding: 'utf8', timeout: 60_000 });
  t.equal(result.status, 1);
  const lines = result.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1 + MAX_LISTED_PROBLEMS + 1);
  t.match(lines[0], /^invalid config .*:$/);
  t.equal(lines.at(-1), `  … and ${100_001 - MAX_LISTED_PROBLEMS} more problems (100001 in all)`);
});
