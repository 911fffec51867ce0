import t from 'tap';
import { ConfigError, formatConfigError, MAX_LISTED_PROBLEMS } from '../../../src/config/load.js';
import { problemsOf } from './fixtures/helpers.js';
import { mergedIntoEveryUpstream } from './fixtures/merged-config.js';

// Issue 11: a YAML merge key aliased into 50 upstreams printed 100 002 error lines.
t.test('the printed list stops after the first problems and says how many more there are', async (t) => {
  const problems = problemsOf(t, mergedIntoEveryUpstream(200, 50));
  t.equal(problems.length, 1 + 200 * 50, 'every problem is still collected');
  const text = formatConfigError(new ConfigError('/etc/proxy.config.yaml', problems));
  const lines = text.split('\n');
  t.equal(lines.length, 1 + MAX_LISTED_PROBLEMS + 1, 'header, the first 50, one summary line');
  t.equal(lines[0], 'invalid config /etc/proxy.config.yaml:');
  t.same(lines.slice(1, 1 + MAX_LISTED_PROBLEMS), problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p}`));
  t.equal(lines.at(-1), `  … and ${problems.length - MAX_LISTED_PROBLEMS} more problems (${problems.length} in all)`);
  t.equal(new ConfigError('/x', problems).message.split('\n').length, lines.length, 'the error message is capped the same way');
});

t.test('up to the cap every problem is listed; one over says "1 more problem"', async (t) => {
  const exactly = Array.from({ length: MAX_LISTED_PROBLEMS }, (_, i) => `p${i}: unknown key`);
  t.equal(formatConfigError(new ConfigError('/x', exactly)).split('\n').length, 1 + MAX_LISTED_PROBLEMS);
  const over = [...exactly, 'last: unknown key'];
  t.equal(formatConfigError(new ConfigError('/x', over)).split('\n').at(-1), `  … and 1 more problem (${over.length} in all)`);
});
