/**
 * The admin API's JSON, as far as the console reads it (README, "Admin API"). The server's own
 * types live in modules that import pg and node:*, which this DOM-only project cannot compile,
 * so the wire format is described here; the browser test checks the two agree.
 */

/** What the overview shows of a tier (`/admin/stats` has more). */
export interface TierStats {
  hitRatio: number | null;
  entries: number | null;
  bytes: number | null;
  errors: number;
  timeouts: number;
  health: string;
  breaker: string;
}

/** Per upstream; an upstream with no traffic yet may carry only some of these, so all are optional. */
export interface UpstreamStats {
  requests?: number;
  errors?: number;
  inFlight?: number;
  upstreamLatencyMs?: { p50: number | null; p95: number | null };
  coalesced?: number;
  staleServed?: Record<string, number>;
  /** Where the upstream reports its API quota (newer instances). */
  quota?: {
    callsSaved?: number;
    callsSavedToday?: number;
    lastReported?: { used: number | null; limit: number | null; usedRatio: number | null } | null;
    saver?: { on: boolean; reason: string | null } | null;
  };
}

export interface Stats {
  uptimeSeconds: number;
  version: string;
  configDigest: string;
  tiers: Record<string, TierStats>;
  upstreams: Record<string, UpstreamStats>;
  coalescedRequests: number;
  staleServed: Record<string, number>;
  invalidations: Record<string, number>;
  audit: { buffered: number; spoolPendingRows: number; written: number; spooled: number; replayed: number; dropped: number; spoolFailing: boolean } | null;
}

export interface Readiness {
  status: string;
  upstreams?: Record<string, { state: string; circuit: string; pausedForMs: number; limit: number; inFlight: number; queued: number }>;
  tiers?: Record<string, string>;
  audit?: string;
}

export interface Traffic {
  requests: number;
  errors: number;
  hits: number;
  cacheable: number;
  hitRatio: number | null;
}

export interface UpstreamsView {
  window: string;
  trafficSource: 'audit' | 'unavailable';
  trafficError?: string;
  upstreams: Array<{
    name: string;
    prefix: string;
    enabled: boolean;
    rules: Array<{ name: string; methods: string[]; path: string; cache: boolean; scope: string; ttlSeconds: number; tags: string[]; traffic: Traffic | null }>;
    unmatched: Traffic | null;
  }>;
}

export interface CacheEntry {
  key: string;
  upstream: string;
  path: string;
  status: number;
  scope: string;
  tags: string[];
  storedAt: string;
  expiresAt: string;
  ageSeconds: number;
  ttlSeconds: number;
  fresh: boolean;
  invalidated: boolean;
  bodyBytes: number;
  sizeBytes: number;
  tiers: Partial<Record<'memory' | 'redis' | 'postgres', string>>;
}

export interface CacheListing {
  source: string;
  items: CacheEntry[];
  nextCursor: string | null;
}

export interface CacheEntryDetail extends CacheEntry {
  source: string;
  headerNames: string[];
  body?: { encoding: 'utf8' | 'base64'; data: string };
}

export interface InvalidateResult {
  invalidated: { epochs: string[]; keysDeleted: number; propagated: boolean };
  tookMs: number;
}

export interface WarmResult {
  results: Array<{ upstream: string; method: string; path: string; status: number; cache: string | null; tier: string | null; requestId: string; error?: string }>;
  summary: { total: number; ok: number; failed: number };
  tookMs: number;
}

export interface Latency {
  totalP50: number | null;
  totalP95: number | null;
  upstreamP50: number | null;
  upstreamP95: number | null;
}

export interface Counts {
  requests: number;
  errors: number;
}

export interface AuditReport {
  window: string;
  from: string;
  to: string;
  totalRequests: number;
  errorCount: number;
  hitRatio: number | null;
  latency: Latency;
  byDay: Array<{ day: string } & Counts>;
  byUpstream: Array<{ upstream: string | null; hitRatio: number | null; latency: Latency } & Counts>;
  byAction: Array<{ action: string | null } & Counts>;
  byCacheOutcome: Record<string, number>;
  byUser: Array<{ user: string | null } & Counts>;
  topResources: Array<{ resourceType: string; resourceId: string | null } & Counts>;
}

export interface AuditItem {
  requestId: string;
  ts: string;
  sessionId: string | null;
  userIdentifier: string | null;
  upstream: string | null;
  method: string | null;
  path: string | null;
  query: string | null;
  action: string | null;
  status: number | null;
  cacheOutcome: string | null;
  cacheTier: string | null;
  totalMs: number | null;
  errorCode: string | null;
}

export interface AuditPage {
  items: AuditItem[];
  nextCursor: string | null;
}

export interface SessionView {
  session: { id: string; userIdentifier: string | null; createdAt: string | null; lastAccessed: string | null; expiresAt: string | null };
  recentActivity: AuditItem[];
}
