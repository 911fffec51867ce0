import type { QueryPairs } from '../policy/query.js';
import type { CompiledUpstream } from './upstreams.js';

/** Where a request goes: the upstream, the confined path below its prefix, and the query. */
export interface ProxyTarget {
  readonly upstream: CompiledUpstream;
  /** Upstream-relative path (below the prefix), dot-segments removed. */
  readonly path: string;
  /** Raw query, forwarded unchanged. */
  readonly query: string;
  readonly queryPairs: QueryPairs;
  /** Path and query as sent to the upstream origin (target base path included). */
  readonly forwardPath: string;
}
