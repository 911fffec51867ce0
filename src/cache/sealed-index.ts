/**
 * The readable-content search values of a sealed api_cache row, before hashing (pure). Each is
 * domain-separated, so a tag can never match a path.
 */

/** The path (and query) of an entry, and each of its ancestors at a segment boundary: `/`, `/a`, `/a/b`, … */
export function pathPrefixes(path: string): string[] {
  const query = path.indexOf('?');
  const bare = query < 0 ? path : path.slice(0, query);
  const prefixes = new Set<string>(['/']);
  for (let slash = bare.indexOf('/', 1); slash !== -1; slash = bare.indexOf('/', slash + 1)) prefixes.add(bare.slice(0, slash));
  if (bare.length > 1) prefixes.add(bare.replace(/\/+$/, '') || '/');
  prefixes.add(path);
  return [...prefixes].map(pathValue);
}

/**
 * The indexed prefix a listing prefix is looked up by: the prefix itself when it ends at a segment
 * boundary (`/a/b` or `/a/b/`), else its last whole segment (`/a/b` for `/a/bc`); the caller
 * filters the opened paths by the exact prefix.
 */
export function indexedPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return pathValue('/');
  if (prefix.endsWith('/')) return pathValue(trimmed);
  const slash = trimmed.lastIndexOf('/');
  return pathValue(slash <= 0 ? '/' : trimmed.slice(0, slash));
}

/** A tag as a sealed row indexes it. */
export const tagValue = (tag: string): string => `tag\0${tag}`;

const pathValue = (path: string): string => `path\0${path}`;
