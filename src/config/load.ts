/**
 * YAML file + environment -> validated, normalised, deep-frozen `Config`.
 * Steps: read and parse YAML, interpolate `${VAR}`, coerce and validate against the schema
 * (all violations), semantic checks, normalise. Any problem throws one `ConfigError` listing all.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { interpolate, type Env, type UnsetVariable } from './interpolate.js';
import { normaliseRule } from './rules.js';
import { normaliseAdmin, normaliseAudit, normaliseCache, normaliseDatabase, normaliseSessions } from './storage.js';
import { normaliseHooks, reservedPrefixProblems } from './hooks.js';
import {
  AdminSchema, AuditSchema, CacheSchema, ConfigSchema, DatabaseSchema, DEFAULTS, SessionsSchema, DefaultsSchema, PresetSchema, ServerSchema, UpstreamSchema,
  appendKey, coerce, keyPath, schemaProblems, type RawPreset, type RawRule, type RawUpstream, type ProtectionSchema, type RateLimitSchema,
} from './schema.js';
import { PROTECTION_DEFAULTS, QUOTA_SAVER_DEFAULTS, RATE_LIMIT_DEFAULTS } from './protection.js';
import type { CacheRuleConfig, Config, RateLimitConfig, RequestBodyConfig, UpstreamConfig, UpstreamProtectionConfig } from './types.js';
import { parseDuration, parseSize } from './units.js';

export interface LoadOptions {
  readonly path: string;
  readonly env: Env;
  /** Folder of `<name>.yaml` rule presets; default: `config/presets` at the repository root. */
  readonly presetsDir?: string;
}

export interface LoadResult {
  readonly config: Config;
  readonly warnings: string[];
}

/** A user mistake in the config file: one line per problem (the message lists the first MAX_LISTED_PROBLEMS), no stack trace needed. */
export class ConfigError extends Error {
  readonly path: string;
  readonly problems: string[];

  constructor(path: string, problems: string[]) {
    super(formatProblems(path, problems));
    this.name = 'ConfigError';
    this.path = path;
    this.problems = problems;
  }
}

/** `invalid config <path>:` followed by one indented line per problem, for stderr. */
export function formatConfigError(err: ConfigError): string {
  return formatProblems(err.path, err.problems);
}

/** Loads and validates the config file; throws `ConfigError` listing every problem found. */
export function loadConfig(options: LoadOptions): LoadResult {
  const file = resolve(options.path);
  const parsed = readYaml(file, '(file)');
  if ('problem' in parsed) throw new ConfigError(file, [parsed.problem]);
  if (parsed.value === null || parsed.value === undefined) {
    throw new ConfigError(file, ['(root): the file is empty; expected a mapping with an "upstreams" list']);
  }

  const interpolated = interpolate(parsed.value, options.env);
  const raw = coerce(ConfigSchema, interpolated.value);
  const problems = interpolated.problems.map((p) => `${keyPath(p.path)}: ${p.message}`);
  const reported = interpolated.problems.map((p) => `${keyPath(p.path)}: `);
  problems.push(...schemaProblems(ConfigSchema, raw).filter((line) => !reported.some((at) => line.startsWith(at))));
  const warnings: string[] = [];
  const config = normalise(raw as Record<string, unknown>, {
    problems,
    warnings,
    unset: interpolated.unset,
    presets: presetLoader(options.presetsDir, options.env, problems),
  });
  if (problems.length > 0 || config === undefined) {
    throw new ConfigError(file, [...new Set(problems)].map((line) => withTtlVariables(withUnsetHint(line, interpolated.unset), options.env)));
  }
  return { config: deepFreeze(config), warnings };
}

interface Context {
  readonly problems: string[];
  readonly warnings: string[];
  readonly unset: readonly UnsetVariable[];
  readonly presets: ReturnType<typeof presetLoader>;
}

/** Semantic checks and normalisation of every section that passed the schema on its own. */
function normalise(raw: Record<string, unknown>, ctx: Context): Config | undefined {
  const server = section(ServerSchema, raw['server']);
  const cache = section(CacheSchema, raw['cache']) ?? {};
  const database = section(DatabaseSchema, raw['database']);
  const defaults = section(DefaultsSchema, raw['defaults']) ?? {};
  const rawUpstreams = Array.isArray(raw['upstreams']) ? (raw['upstreams'] as unknown[]) : [];
  const upstreams: UpstreamConfig[] = [];
  rawUpstreams.forEach((candidate, index) => {
    if (Value.Check(UpstreamSchema, candidate)) upstreams.push(normaliseUpstream(candidate, index, defaults, ctx));
  });
  checkUnique(rawUpstreams, 'name', 'upstream name', ctx.problems);
  checkUnique(rawUpstreams, 'prefix', 'prefix', ctx.problems);
  ctx.problems.push(...reservedPrefixProblems(rawUpstreams));
  if (ctx.problems.length > 0 || !server) return undefined;
  if (upstreams.every((u) => u.target === null)) ctx.warnings.push('no upstream is enabled: every target is empty');

  return {
    server: {
      host: server.host ?? DEFAULTS.server.host,
      port: server.port ?? DEFAULTS.server.port,
      maxRequestBodyBytes: parseSize(server.maxRequestBodyBytes ?? DEFAULTS.server.maxRequestBodyBytes),
      maxKeyedBodyBytes: parseSize(server.maxKeyedBodyBytes ?? DEFAULTS.server.maxKeyedBodyBytes),
      shutdownGraceMs: parseDuration(server.shutdownGrace ?? DEFAULTS.server.shutdownGrace),
      requestIdHeader: (server.requestIdHeader ?? DEFAULTS.server.requestIdHeader).toLowerCase(),
      logLevel: server.logLevel ?? DEFAULTS.server.logLevel,
      maxHeaderBytes: parseSize(server.maxHeaderBytes ?? DEFAULTS.server.maxHeaderBytes),
      requestBody: normaliseRequestBody(server.requestBody ?? {}),
    },
    cache: normaliseCache(cache, ctx.problems),
    database: normaliseDatabase(database ?? {}, ctx.problems),
    sessions: normaliseSessions(section(SessionsSchema, raw['sessions']) ?? {}),
    audit: normaliseAudit(section(AuditSchema, raw['audit']) ?? {}, database?.dataDir ?? DEFAULTS.database.dataDir, ctx.problems),
    admin: normaliseAdmin(section(AdminSchema, raw['admin']) ?? {}),
    hooks: normaliseHooks(raw['hooks'], upstreams.map((u) => u.name), ctx.problems),
    upstreams,
    redactQueryParams: lowerUnique((raw['redactQueryParams'] as string[] | undefined) ?? DEFAULTS.redactQueryParams),
  };
}

function normaliseRequestBody(raw: NonNullable<Static<typeof ServerSchema>['requestBody']>): RequestBodyConfig {
  const d = DEFAULTS.server.requestBody;
  return {
    idleTimeoutMs: parseDuration(raw.idleTimeout ?? d.idleTimeout),
    minBytesPerSecond: parseSize(raw.minBytesPerSecond ?? d.minBytesPerSecond),
    minRateAfterMs: parseDuration(raw.minRateAfter ?? d.minRateAfter),
    bufferUpToBytes: parseSize(raw.bufferUpTo ?? d.bufferUpTo),
  };
}

function normaliseUpstream(raw: RawUpstream, index: number, defaults: Static<typeof DefaultsSchema>, ctx: Context): UpstreamConfig {
  const at = `upstreams[${index}]`;
  const pool = { ...DEFAULTS.pool, ...defaults.pool, ...raw.pool };
  return {
    name: raw.name,
    prefix: raw.prefix,
    target: normaliseTarget(raw, index, ctx),
    publicUrl: normalisePublicUrl(raw.publicUrl, `${at}.publicUrl`, ctx.problems),
    quotaSaver: { ...QUOTA_SAVER_DEFAULTS, ...raw.quotaSaver },
    pool: {
      connections: pool.connections,
      connectTimeoutMs: parseDuration(pool.connectTimeout),
      headersTimeoutMs: parseDuration(pool.headersTimeout),
      bodyTimeoutMs: parseDuration(pool.bodyTimeout),
      keepAliveTimeoutMs: parseDuration(pool.keepAliveTimeout),
    },
    requestHeaders: {
      add: normaliseHeaderMap(raw.requestHeaders?.add ?? {}, `${at}.requestHeaders.add`, ctx.problems),
      remove: lowerUnique(raw.requestHeaders?.remove ?? []),
    },
    clientNoCache: raw.clientNoCache ?? 'refresh',
    vary: lowerUnique([...(raw.vary ?? DEFAULTS.upstream.vary), ...((raw.preset !== undefined && ctx.presets.preset(raw.preset)?.vary) || [])]),
    mediaTypes: lowerUnique(raw.mediaTypes ?? (raw.preset !== undefined ? ctx.presets.preset(raw.preset)?.mediaTypes : undefined) ?? DEFAULTS.upstream.mediaTypes),
    protection: normaliseProtection(
      {
        defaults: legacyLimit(defaults.protection, 'defaults.protection', ctx),
        own: legacyLimit(raw.protection, `${at}.protection`, ctx),
      },
      { at: `${at}.protection`, connections: pool.connections },
      ctx.problems,
    ),
    rateLimit: raw.rateLimit === undefined || raw.rateLimit.enabled === false ? null : normaliseRateLimit(raw.rateLimit),
    rules: effectiveRules(raw, at, defaults, ctx),
  };
}

type RawProtection = Static<typeof ProtectionSchema>;

/**
 * A `protection:` section with the deprecated `maxConcurrent: N` read as what it means now, a
 * fixed limit (`concurrency: { initial: N, min: N, max: N }`), with a warning; `legacy` is set then.
 */
function legacyLimit(raw: RawProtection | undefined, at: string, ctx: Context): RawProtection & { legacy?: true } {
  if (raw?.maxConcurrent === undefined) return raw ?? {};
  const { maxConcurrent: n, ...rest } = raw;
  if (raw.concurrency !== undefined) {
    ctx.problems.push(`${at}.maxConcurrent: cannot be set with concurrency (it is the old spelling of concurrency: { initial: ${n}, min: ${n}, max: ${n} })`);
    return rest;
  }
  const warning = `${at}.maxConcurrent is deprecated: read as a fixed limit, concurrency: { initial: ${n}, min: ${n}, max: ${n} }; remove it to let the limit adapt`;
  if (!ctx.warnings.includes(warning)) ctx.warnings.push(warning);
  return { ...rest, concurrency: { initial: n, min: n, max: n }, legacy: true };
}

/**
 * The upstream's `protection:` over the `defaults:` one, key by key. Unset concurrency keys fit
 * the pool: max defaults to the smaller of its default and `pool.connections`, min and initial to
 * at most max; a max above the pool's connections is refused (undici would queue out of sight).
 */
function normaliseProtection(
  sources: { defaults: RawProtection & { legacy?: true }; own: RawProtection & { legacy?: true } },
  where: { at: string; connections: number },
  problems: string[],
): UpstreamProtectionConfig {
  const { defaults, own } = sources;
  const { at, connections } = where;
  const raw: RawProtection = { ...defaults, ...own, breaker: { ...defaults.breaker, ...own.breaker } };
  const d = PROTECTION_DEFAULTS;
  const ms = (value: string | number | undefined, fallback: number) => (value === undefined ? fallback : parseDuration(value));
  const breaker = raw.breaker ?? {};
  const c = { ...defaults.concurrency, ...own.concurrency };
  const max = c.max ?? Math.min(d.concurrency.max, connections);
  const min = c.min ?? Math.min(d.concurrency.min, max);
  const initial = c.initial ?? Math.min(Math.max(d.concurrency.initial, min), max);
  const legacy = own.legacy ?? (own.concurrency?.max === undefined && defaults.legacy);
  if (max > connections) {
    problems.push(`${at}.${legacy === true ? 'maxConcurrent' : 'concurrency.max'}: must be at most pool.connections (${connections}), or undici queues the excess out of sight`);
  }
  if (min > max) problems.push(`${at}.concurrency.min: must be at most concurrency.max (${max})`);
  else if (initial < min || initial > max) problems.push(`${at}.concurrency.initial: must be from concurrency.min (${min}) to concurrency.max (${max})`);
  const protection: UpstreamProtectionConfig = {
    concurrency: { initial, min, max, latencyTolerance: c.latencyTolerance ?? d.concurrency.latencyTolerance },
    maxQueue: raw.maxQueue ?? d.maxQueue,
    queueTimeoutMs: ms(raw.queueTimeout, d.queueTimeoutMs),
    breaker: {
      windowMs: ms(breaker.window, d.breaker.windowMs),
      bucketMs: ms(breaker.bucket, d.breaker.bucketMs),
      minimumCalls: breaker.minimumCalls ?? d.breaker.minimumCalls,
      failureRate: breaker.failureRate ?? d.breaker.failureRate,
      openMs: ms(breaker.openFor, d.breaker.openMs),
      halfOpenProbes: breaker.halfOpenProbes ?? d.breaker.halfOpenProbes,
    },
    retryAfterMaxMs: ms(raw.retryAfterMax, d.retryAfterMaxMs),
    retryAfterDefaultMs: ms(raw.retryAfterDefault, d.retryAfterDefaultMs),
    retryOnReset: raw.retryOnReset ?? d.retryOnReset,
    retryJitterMs: ms(raw.retryJitter, d.retryJitterMs),
  };
  if (protection.breaker.bucketMs <= 0 || protection.breaker.bucketMs > protection.breaker.windowMs) {
    problems.push(`${at}.breaker.bucket: must be above 0 and at most breaker.window`);
  }
  if (protection.breaker.openMs <= 0) problems.push(`${at}.breaker.openFor: must be above 0`);
  if (protection.queueTimeoutMs <= 0) problems.push(`${at}.queueTimeout: must be above 0`);
  return protection;
}

function normaliseRateLimit(raw: Static<typeof RateLimitSchema>): RateLimitConfig {
  const d = RATE_LIMIT_DEFAULTS;
  return {
    by: raw.by ?? d.by,
    capacity: raw.capacity ?? d.capacity,
    refillPerSecond: raw.refillPerSecond ?? d.refillPerSecond,
    exemptHits: raw.exemptHits ?? d.exemptHits,
    maxSubjects: raw.maxSubjects ?? d.maxSubjects,
    redisTimeoutMs: raw.redisTimeout === undefined ? d.redisTimeoutMs : parseDuration(raw.redisTimeout),
  };
}

/**
 * The upstream's own rules first, then its preset's; names must be unique in the result. An
 * `overrides` entry is merged over the rule of that name; one naming no rule is a problem.
 */
function effectiveRules(raw: RawUpstream, at: string, defaults: Static<typeof DefaultsSchema>, ctx: Context): CacheRuleConfig[] {
  const sources: { rule: RawRule; at: string }[] = (raw.rules ?? []).map((rule, i) => ({ rule, at: `${at}.rules[${i}]` }));
  if (raw.preset !== undefined) {
    const rules = ctx.presets.rules(raw.preset);
    if (rules === undefined) {
      const available = ctx.presets.available();
      const list = available.length > 0 ? available.join(', ') : 'none';
      ctx.problems.push(`${at}.preset: unknown preset "${raw.preset}" (available: ${list})`);
    } else {
      sources.push(...rules.map((rule, i) => ({ rule, at: `presets.${raw.preset}.rules[${i}]` })));
    }
  }
  const overrides = raw.overrides ?? {};
  const names = sources.map((source) => source.rule.name).filter((name) => name !== undefined);
  for (const name of Object.keys(overrides)) {
    if (!names.includes(name)) ctx.problems.push(`${appendKey(`${at}.overrides`, name)}: no rule of this upstream is named "${name}" (rules: ${names.join(', ') || 'none'})`);
  }
  const seen = new Map<string, string>();
  return sources.map((source, i) => {
    const override = source.rule.name === undefined ? undefined : overrides[source.rule.name];
    const merged = override === undefined ? source.rule : { ...source.rule, ...override };
    const ruleAt = override === undefined ? source.at : `${source.at} (with ${appendKey(`${at}.overrides`, source.rule.name!)})`;
    const rule = normaliseRule(merged, { at: ruleAt, defaultName: `${raw.name}.rule${i}`, defaults: defaults.rule }, ctx.problems);
    const first = seen.get(rule.name);
    if (first !== undefined) ctx.problems.push(`${source.at}.name: duplicate rule name "${rule.name}" (also ${first})`);
    else seen.set(rule.name, source.at);
    return rule;
  });
}

/** An empty target disables the upstream with a warning; anything else must be an http(s) URL. */
function normaliseTarget(raw: RawUpstream, index: number, ctx: Context): URL | null {
  const unset = ctx.unset
    .filter((u) => u.path.length === 3 && u.path[0] === 'upstreams' && u.path[1] === index && u.path[2] === 'target')
    .map((u) => u.name);
  const notSet = unset.length > 0 ? `${unset.join(', ')} ${unset.length > 1 ? 'are' : 'is'} not set` : '';
  if (raw.target.trim() === '') {
    ctx.warnings.push(`upstream "${raw.name}" is disabled: ${notSet || 'its target is empty'}`);
    return null;
  }
  const url = parseTarget(raw.target);
  if (typeof url === 'string') ctx.problems.push(`upstreams[${index}].target: ${url}`);
  return typeof url === 'string' ? null : url;
}

/**
 * A preset ttl problem names the ttl variables the presets read, with their values:
 * `presets.salesforce.rules[2].ttl: must be a duration … (from CACHE_TTL_DEFAULT="soon")`.
 */
function withTtlVariables(line: string, env: Env): string {
  const names = ['CACHE_TTL_DEFAULT', 'CACHE_TTL_LONG'].filter((name) => env[name] !== undefined && env[name] !== '');
  if (names.length === 0 || !/^presets\.[a-z0-9_-]+\.rules\[\d+\]\.ttl: /.test(line)) return line;
  return `${line} (from ${names.map((name) => `${name}=${JSON.stringify(env[name])}`).join(', ')})`;
}

/** Appends `(NAME is not set)` to a problem about a value that used an unset variable. */
function withUnsetHint(line: string, unset: readonly UnsetVariable[]): string {
  const names = unset.filter((u) => !u.hasDefault && line.startsWith(`${keyPath(u.path)}: `)).map((u) => u.name);
  if (names.length === 0) return line;
  return `${line} (${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not set)`;
}

/** An optional public URL: absolute http(s), no query, fragment or credentials; kept without a trailing "/". */
function normalisePublicUrl(text: string | undefined, at: string, problems: string[]): string | null {
  if (text === undefined || text.trim() === '') return null;
  const url = parseTarget(text);
  if (typeof url === 'string') {
    problems.push(`${at}: ${url}`);
    return null;
  }
  return url.href.replace(/\/+$/, '');
}

function parseTarget(text: string): URL | string {
  const expected = 'must be an absolute http(s) URL';
  if (!/^https?:\/\/[^/\s]/i.test(text) || /\s/.test(text)) return expected;
  if (/[?#]/.test(text)) return `${expected} without a query or fragment`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return expected;
  }
  if (url.username !== '' || url.password !== '') return `${expected} without credentials (send them as request headers)`;
  url.pathname = url.pathname.replace(/\/+$/, '') || '/';
  return url;
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function normaliseHeaderMap(headers: Readonly<Record<string, string>>, at: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const here = appendKey(at, name);
    if (!HEADER_TOKEN.test(name)) problems.push(`${here}: must be an HTTP header name such as "x-request-id"`);
    else if (Object.hasOwn(out, lower)) problems.push(`${here}: header "${lower}" is set twice`);
    else out[lower] = value;
  }
  return out;
}

function checkUnique(items: readonly unknown[], key: string, label: string, problems: string[]): void {
  const seen = new Map<unknown, number>();
  items.forEach((item, index) => {
    const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
    if (typeof value !== 'string') return;
    const first = seen.get(value);
    if (first === undefined) seen.set(value, index);
    else problems.push(`upstreams[${index}].${key}: duplicate ${label} "${value}" (also upstreams[${first}].${key})`);
  });
}

/**
 * Lazily reads `<dir>/<name>.yaml` presets, validating each once. Presets are interpolated from
 * the same environment as the file (their ttls read `CACHE_TTL_DEFAULT` and `CACHE_TTL_LONG`).
 */
function presetLoader(dir: string | undefined, env: Env, problems: string[]) {
  const folder = (): string | undefined => (dir ??= defaultPresetsDir());
  const loaded = new Map<string, RawPreset | undefined>();
  const available = (): string[] => {
    const at = folder();
    if (at === undefined || !existsSync(at)) return [];
    return readdirSync(at).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
  };
  const preset = (name: string): RawPreset | undefined => {
    if (loaded.has(name)) return loaded.get(name);
    const at = folder();
    let result: RawPreset | undefined;
    if (at !== undefined && available().includes(name)) {
      const parsed = readYaml(join(at, `${name}.yaml`), `presets.${name}`);
      const interpolated = 'problem' in parsed ? undefined : interpolate(parsed.value, env);
      const value = interpolated === undefined ? undefined : coerce(PresetSchema, interpolated.value);
      const found =
        'problem' in parsed
          ? [parsed.problem]
          : [
              ...interpolated!.problems.map((p) => `${keyPath(['presets', name, ...p.path])}: ${p.message}`),
              ...schemaProblems(PresetSchema, value, ['presets', name]),
            ];
      problems.push(...found);
      result = found.length === 0 ? (value as RawPreset) : { rules: [] };
    }
    loaded.set(name, result);
    return result;
  };
  return { available, preset, rules: (name: string): readonly RawRule[] | undefined => preset(name)?.rules };
}

/** Walks up from this module (src/config or dist/src/config) to the folder holding `config/presets`. */
function defaultPresetsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'config', 'presets');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const FS_ERRORS: Readonly<Record<string, string>> = { ENOENT: 'file not found', EACCES: 'permission denied', EISDIR: 'is a directory' };

/** Reads and parses one YAML file; a read or syntax error becomes one problem line. */
function readYaml(file: string, at: string): { value: unknown } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { problem: `${at}: cannot read ${file} (${FS_ERRORS[code] ?? code})` };
  }
  const doc = parseDocument(text, { merge: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? ` line ${pos.line}, column ${pos.col}` : '';
    return { problem: `${at}: YAML syntax error at${where}: ${error.message.replace(/ at line \d+, column \d+:[^]*$/, '')}` };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return { problem: `${at}: YAML error: ${(err as Error).message}` };
  }
}

function section<S extends TSchema>(schema: S, value: unknown): Static<S> | undefined {
  const candidate = value ?? {};
  return Value.Check(schema, candidate) ? (candidate as Static<S>) : undefined;
}

function lowerUnique(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.toLowerCase()))];
}

/**
 * Problem lines printed at most: one mistake repeated through YAML anchors or merge keys (`<<: *x`
 * into 50 upstreams) can yield 100 000 lines, and the first ones say what is wrong.
 */
export const MAX_LISTED_PROBLEMS = 50;

function formatProblems(path: string, problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p}`);
  const more = problems.length - listed.length;
  if (more > 0) listed.push(`  … and ${more} more problem${more === 1 ? '' : 's'} (${problems.length} in all)`);
  return [`invalid config ${path}:`, ...listed].join('\n');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (!(value instanceof URL)) for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
