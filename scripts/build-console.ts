/**
 * Bundles the operations console (console/src → dist/console/) with esbuild: one minified
 * ES module and one stylesheet with content-hashed names, and index.html pointing at them.
 * `npm run build` runs it after tsc; the admin listener serves the result at /console/.
 *
 *   tsx scripts/build-console.ts [outDir]      (default dist/console)
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SOURCE = join(ROOT, 'console');
export const CONSOLE_OUT = join(ROOT, 'dist', 'console');

/** Builds the console into `outDir` (emptied first); resolves the written file names. */
export async function buildConsole(outDir: string = CONSOLE_OUT): Promise<string[]> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(CONSOLE_SOURCE, 'src', 'main.tsx') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(CONSOLE_SOURCE, 'tsconfig.json'),
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const js = outputs.find((name) => name.endsWith('.js'));
  const css = outputs.find((name) => name.endsWith('.css'));
  if (js === undefined || css === undefined) throw new Error(`console build produced ${outputs.join(', ')}: expected one .js and one .css`);
  const template = await readFile(join(CONSOLE_SOURCE, 'index.html'), 'utf8');
  await writeFile(join(outDir, 'index.html'), template.replace('{{js}}', `./${js}`).replace('{{css}}', `./${css}`));
  return ['index.html', js, css];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? CONSOLE_OUT);
  const files = await buildConsole(outDir);
  console.log(`console: ${files.join(', ')} -> ${outDir}`);
}
