import { SidecacheError } from '../errors.js';
import type { InvalidationTarget } from './invalidator.js';
import { normalisePrefix, prefixReachesPattern, prefixShapeProblem } from './prefix.js';

/** What a prefix is checked against: an upstream's mount point and the path patterns its caching rules store. */
export interface InvalidatableUpstream {
  readonly name: string;
  readonly prefix: string;
  readonly rules: ReadonlyArray<{ readonly path: string; readonly cache: boolean }>;
}

export interface InvalidateBody {
  upstream?: string;
  key?: string;
  prefix?: string;
  tags?: string[];
  all?: true;
}

export const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    upstream: { type: 'string', minLength: 1, maxLength: 64, description: 'an upstream name from the config' },
    key: { type: 'string', minLength: 1, maxLength: 512, description: 'a cache key as shown by x-cache listings' },
    prefix: { type: 'string', pattern: '^/', maxLength: 2048, description: 'a path starting with "/", below the upstream prefix' },
    tags: {
      type: 'array',
      maxItems: 1000,
      items: { type: 'string', minLength: 1, maxLength: 256 },
      description: 'a list of up to 1000 non-empty tags',
    },
    all: { type: 'boolean', const: true, description: 'true (everything)' },
  },
} as const;

/**
 * The invalidation a request body (`POST /admin/invalidate`, `POST /hooks/invalidate`) asks for. Refuses (400) bodies that name nothing, an unknown
 * upstream or a malformed prefix, and (422) a prefix no caching rule of the upstream can store
 * anything under: answering 200 to it would claim an invalidation that removed nothing.
 */
export function invalidationTarget(body: InvalidateBody, upstreams: readonly InvalidatableUpstream[]): InvalidationTarget {
  const { upstream, key, prefix, tags, all } = body;
  const configured = upstream === undefined ? undefined : upstreams.find((u) => u.name === upstream);
  if (upstream !== undefined && configured === undefined) {
    throw new SidecacheError('invalid_request', `upstream: unknown upstream "${upstream}" (configured: ${upstreams.map((u) => u.name).join(', ')})`);
  }
  if (prefix !== undefined && configured === undefined) {
    throw new SidecacheError('invalid_request', 'prefix: needs "upstream" (a prefix is a path within one upstream)');
  }
  if (prefix !== undefined) checkPrefix(prefix, configured!);
  const named = upstream !== undefined || key !== undefined || (tags !== undefined && tags.length > 0) || all === true;
  if (!named) throw new SidecacheError('invalid_request', 'body: name at least one of key, prefix (with upstream), tags, upstream, all');
  return {
    ...(key === undefined ? {} : { keys: [key] }),
    ...(tags === undefined ? {} : { tags }),
    ...(prefix === undefined ? {} : { prefix: { upstream: upstream!, path: normalisePrefix(prefix) } }),
    ...(upstream !== undefined && prefix === undefined ? { upstream } : {}),
    ...(all === true ? { all: true } : {}),
  };
}

const LISTED_PATTERNS = 8;

/** Refuses a prefix under which the upstream can hold no entry, saying why and what was meant. */
function checkPrefix(prefix: string, upstream: InvalidatableUpstream): void {
  const problem = prefixShapeProblem(prefix);
  if (problem !== null) throw new SidecacheError('invalid_request', `prefix: ${problem}`);
  const patterns = [...new Set(upstream.rules.filter((rule) => rule.cache).map((rule) => rule.path))];
  const path = normalisePrefix(prefix);
  if (patterns.some((pattern) => prefixReachesPattern(path, pattern))) return;
  if (patterns.length === 0) {
    throw new SidecacheError('invalidation_matches_nothing', `prefix: upstream "${upstream.name}" has no caching rules, so nothing of it is cached`);
  }
  const mount = upstream.prefix;
  const below = mount !== '/' && (path === mount || path.startsWith(`${mount}/`)) ? path.slice(mount.length) || '/' : null;
  const hint = below !== null && patterns.some((pattern) => prefixReachesPattern(below, pattern))
    ? `; paths are relative to the upstream prefix "${mount}": did you mean "${below}"?`
    : '';
  const listed = patterns.slice(0, LISTED_PATTERNS).join(', ') + (patterns.length > LISTED_PATTERNS ? `, … (${patterns.length} in all)` : '');
  throw new SidecacheError(
    'invalidation_matches_nothing',
    `prefix: no caching rule of upstream "${upstream.name}" stores a path at or below "${path}" (a prefix matches whole segments; rule paths: ${listed})${hint}`,
  );
}
