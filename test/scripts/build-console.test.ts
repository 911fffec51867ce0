import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { buildConsole } from '../../scripts/build-console.js';
import { loadConsoleAssets } from '../../src/admin/console-assets.js';

// Issue 16: the console's built assets stay under 300 KB gzipped (what a browser downloads).
const BUDGET_GZIP_BYTES = 300 * 1024;

t.test('npm run build bundles the console: hashed names, no remote URLs, under 300 KB gzipped', async (t) => {
  const dir = t.testdir({});
  const files = await buildConsole(dir);
  t.equal(files[0], 'index.html');
  t.match(files[1], /^app-[A-Z0-9]{8}\.js$/);
  t.match(files[2], /^app-[A-Z0-9]{8}\.css$/);

  const html = await readFile(join(dir, 'index.html'), 'utf8');
  t.ok(html.includes(`src="./${files[1]}"`) && html.includes(`href="./${files[2]}"`), 'index.html points at the hashed files');
  t.notMatch(html, /<script>|<style>|style=/, 'no inline script or style (the CSP forbids them)');

  let gzipped = 0;
  for (const name of files) {
    const body = await readFile(join(dir, name));
    gzipped += gzipSync(body, { level: 9 }).length;
    t.notMatch(body.toString('utf8'), /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\//i, `${name}: nothing fetched from the internet`);
  }
  t.comment(`console assets: ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  t.ok(gzipped < BUDGET_GZIP_BYTES, `${gzipped} bytes gzipped < ${BUDGET_GZIP_BYTES}`);

  const assets = await loadConsoleAssets(dir);
  t.same([...(assets?.keys() ?? [])].sort(), [...files].sort(), 'the admin listener serves exactly what was built');
});
