import { spawnSync } from 'node:child_process';
import t from 'tap';
import { LOAD_CPU, pinnedCommand, pinning, SERVER_CPU } from '../../../bench/lib/pin.js';

t.test('pinnedCommand', async (t) => {
  const { enabled, realtime, reason } = pinning();
  if (!enabled) {
    t.same(pinnedCommand('generator', 'wrk', ['-v']), { command: 'wrk', args: ['-v'] }, `unpinned (${reason}): the command as given`);
    return;
  }
  t.same(pinnedCommand(undefined, 'node', ['x.js']), { command: 'node', args: ['x.js'] }, 'no role: inherits the affinity');
  t.same(pinnedCommand('server', 'node', ['x.js']), { command: 'taskset', args: ['-c', SERVER_CPU, 'node', 'x.js'] });
  t.same(pinnedCommand('load', 'node', ['x.js']), { command: 'taskset', args: ['-c', LOAD_CPU, 'node', 'x.js'] });

  // What the generator's command line really does to the process it execs.
  const script = 'chrt -p $$; taskset -c -p $$';
  const generator = pinnedCommand('generator', 'sh', ['-c', script]);
  const shown = spawnSync(generator.command, generator.args, { encoding: 'utf8' });
  t.equal(shown.status, 0, shown.stderr);
  t.match(shown.stdout, new RegExp(`affinity list: ${LOAD_CPU}\\s*$`, 'm'), 'on the load core');
  if (realtime) {
    t.equal(generator.command, 'chrt');
    t.match(shown.stdout, /scheduling policy: SCHED_FIFO/, 'ahead of everything else on it');
    t.match(shown.stdout, /scheduling priority: 1$/m);
  } else {
    t.match(reason, /wrk not real-time/, 'says why the generator is not real-time');
    t.match(shown.stdout, /scheduling policy: SCHED_OTHER/);
  }
});
