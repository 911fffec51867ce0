import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** sidecache's version from the nearest package.json above this module (works from src/ and dist/). */
export const VERSION: string = findVersion(dirname(fileURLToPath(import.meta.url)));

function findVersion(start: string): string {
  for (let dir = start, depth = 0; depth < 5; dir = dirname(dir), depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sidecache' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one level up
    }
  }
  return 'unknown';
}
