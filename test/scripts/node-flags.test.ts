import { readFileSync } from 'node:fs';
import t from 'tap';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { config: { nodeFlags: string }; scripts: Record<string, string> };

t.test("sidecache's node flags are package.json config.nodeFlags, wherever it is launched", async (t) => {
  const flags = pkg.config.nodeFlags.split(/\s+/);
  t.ok(flags.includes('--max-semi-space-size=32'), 'a young generation sized for the hit path (README: Hit path)');
  t.match(pkg.scripts['start'], /^node \$npm_package_config_nodeFlags dist\/src\/main\.js$/);
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(new URL('Dockerfile', root), 'utf8'));
  t.ok(cmd, 'the Dockerfile has an exec-form CMD');
  t.same(JSON.parse(cmd![1]!), ['node', ...flags, 'dist/src/main.js'], 'the image runs node with the same flags');
});
