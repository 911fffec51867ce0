/**
 * Semantic checks and normalisation of a file whose defaults are filled in: cross-key checks the
 * schema cannot express, and unit conversion (durations to milliseconds, sizes to bytes).
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { defaultsOf } from './defaults.js';
import { normaliseHooks, reservedPrefixProblems } from './hooks.js';
import type { UnsetVariable } from './interpolate.js';
import type { Presets } from './presets.js';
import type { RawConfig } from './schema.js';
import { DefaultsSchema, UpstreamSchema } from './schema/upstream.js';
import type { ServerSchema } from './schema/server.js';
import { normaliseAdmin, normaliseAudit, normaliseCache, normaliseDatabase, normaliseSessions } from './storage.js';
import type { Config, ServerConfig, UpstreamConfig } from './types.js';
import { parseDuration, parseSize } from './units.js';
import { checkUnique, lowerUnique, normaliseUpstream } from './upstream.js';

/** What normalising reads besides the file, and where it reports. */
export interface Context {
  readonly problems: string[];
  readonly warnings: string[];
  readonly unset: readonly UnsetVariable[];
  readonly presets: Presets;
}

/**
 * The normalised config, or undefined when there are problems. Every upstream that passed the
 * schema on its own is checked even when other parts did not, so one run lists every problem.
 */
export function normalise(filled: Record<string, unknown>, ctx: Context): Config | undefined {
  // A `defaults:` section that failed the schema was reported with the rest: read it as built in.
  const defaults = section(DefaultsSchema, filled['defaults']) ?? defaultsOf(DefaultsSchema);
  const candidates = Array.isArray(filled['upstreams']) ? (filled['upstreams'] as unknown[]) : [];
  const upstreams: UpstreamConfig[] = [];
  candidates.forEach((candidate, index) => {
    if (Value.Check(UpstreamSchema, candidate)) upstreams.push(normaliseUpstream(candidate, index, defaults, ctx));
  });
  checkUnique(candidates, 'name', 'upstream name', ctx.problems);
  checkUnique(candidates, 'prefix', 'prefix', ctx.problems);
  ctx.problems.push(...reservedPrefixProblems(candidates));
  // Nothing below runs on a file with problems: every section passed the schema.
  if (ctx.problems.length > 0) return undefined;
  const raw = filled as RawConfig;
  if (upstreams.every((u) => u.target === null)) ctx.warnings.push('no upstream is enabled: every target is empty');
  return {
    server: normaliseServer(raw.server),
    cache: normaliseCache(raw.cache, ctx.problems),
    database: normaliseDatabase(raw.database, ctx.problems),
    sessions: normaliseSessions(raw.sessions),
    audit: normaliseAudit(raw.audit, raw.database.dataDir, ctx.problems),
    admin: normaliseAdmin(raw.admin),
    hooks: normaliseHooks(raw.hooks, upstreams.map((u) => u.name), ctx.problems),
    upstreams,
    redactQueryParams: lowerUnique(raw.redactQueryParams),
  };
}

function normaliseServer(raw: Static<typeof ServerSchema>): ServerConfig {
  const body = raw.requestBody;
  return {
    host: raw.host,
    port: raw.port,
    maxRequestBodyBytes: parseSize(raw.maxRequestBodyBytes),
    maxKeyedBodyBytes: parseSize(raw.maxKeyedBodyBytes),
    shutdownGraceMs: parseDuration(raw.shutdownGrace),
    requestIdHeader: raw.requestIdHeader.toLowerCase(),
    logLevel: raw.logLevel,
    maxHeaderBytes: parseSize(raw.maxHeaderBytes),
    directHitWrites: raw.directHitWrites,
    batchHitWrites: raw.batchHitWrites,
    requestBody: {
      idleTimeoutMs: parseDuration(body.idleTimeout),
      minBytesPerSecond: parseSize(body.minBytesPerSecond),
      minRateAfterMs: parseDuration(body.minRateAfter),
      bufferUpToBytes: parseSize(body.bufferUpTo),
    },
  };
}

function section<S extends TSchema>(schema: S, value: unknown): Static<S> | undefined {
  return Value.Check(schema, value) ? value : undefined;
}
