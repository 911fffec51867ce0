import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * The console's built files (`npm run build` → `dist/console/`), read once into memory with a
 * gzip copy and an ETag each, so serving one is a map look-up. A few files, well under 1 MB.
 */
export interface ConsoleAsset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Content-hashed name (`app-3KQ2ZB7M.js`): cacheable for a year. */
  readonly immutable: boolean;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** esbuild's `[name]-[hash]` names: eight upper-case letters and digits. */
const HASHED_NAME = /-[A-Z0-9]{8}\.[a-z]+$/;

/** Where `npm run build` writes the console, whether this module runs from `dist/` or from `src/` (tsx). */
export function defaultConsoleDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromDist = here.includes(`${sep}dist${sep}src${sep}admin`);
  return fileURLToPath(new URL(fromDist ? '../../console/' : '../../dist/console/', import.meta.url));
}

/** Reads every servable file of `dir`; null when the console has not been built (no `index.html`). */
export async function loadConsoleAssets(dir: string): Promise<ReadonlyMap<string, ConsoleAsset> | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  if (!names.includes('index.html')) return null;
  const assets = new Map<string, ConsoleAsset>();
  for (const name of names.sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    const body = await readFile(join(dir, name));
    assets.set(name, {
      body,
      gzip: gzipSync(body, { level: 9 }),
      contentType,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: HASHED_NAME.test(name),
    });
  }
  return assets;
}
