import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode, stopChild, type Child } from './children.js';
import { freePort, waitForHealthy } from './net.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVERS = join(ROOT, 'bench', 'servers');
const BUILD_TIMEOUT_MS = 180_000;

/** A running server child and its base URL on 127.0.0.1. */
export interface Running {
  readonly child: Child;
  readonly port: number;
  readonly url: string;
}

/** The node flags `npm start` runs sidecache with (package.json `config.nodeFlags`). */
const SIDECACHE_NODE_FLAGS: readonly string[] = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { nodeFlags: string } }).config.nodeFlags.split(/\s+/);

/** The sidecache entry point every `startSidecache` runs; set by `buildSidecache`. */
let mainJs = join(ROOT, 'dist', 'src', 'main.js');

export interface Build {
  /** What was built: "working tree" or the git ref. */
  readonly source: string;
  /** tsc's output when it reported errors (it still emits), else null. */
  readonly errors: string | null;
  /** Removes the snapshot directory of a ref build. */
  cleanup(): void;
}

/**
 * Compiles sidecache with tsconfig.build.json: the working tree into dist/, or, with `ref`, a
 * read-only `git archive` snapshot of that commit in a temp dir (for when src/ is mid-edit).
 */
export function buildSidecache(ref?: string): Build {
  let cwd = ROOT;
  let cleanup = (): void => undefined;
  if (ref !== undefined) {
    cwd = mkdtempSync(join(tmpdir(), 'sidecache-ref-'));
    const dir = cwd;
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    const archive = execFileSync('git', ['archive', '--format=tar', ref, 'src', 'config', 'migrations', 'package.json', 'tsconfig.json', 'tsconfig.build.json'], {
      cwd: ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', cwd], { input: archive });
    symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
  }
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  if (result.error !== undefined || result.status === null) {
    cleanup();
    throw new Error(`build did not run: ${result.error?.message ?? result.signal}`);
  }
  mainJs = join(cwd, 'dist', 'src', 'main.js');
  const errors = result.status === 0 ? null : `${result.stdout}${result.stderr}`.trim();
  return { source: ref === undefined ? 'working tree' : `git ${ref}`, errors, cleanup };
}

/** The bench upstream (bench/servers/upstream.ts) on a random port, optionally slowed down. */
export async function startUpstream(name: string, delayMs = 0): Promise<Running> {
  const child = spawnNode({
    name,
    args: ['--import', 'tsx', join(SERVERS, 'upstream.ts')],
    env: { DELAY_MS: String(delayMs), PORT: '0' },
    cwd: ROOT,
    cpu: 'load',
  });
  const { port } = (await child.announced) as { port: number };
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** The built src/ directory of the sidecache under test (dist/src, or the BENCH_REF snapshot's). */
export function builtSrcDir(): string {
  return dirname(mainJs);
}

/**
 * The killable origin (bench/servers/origin.ts): `/etag/:id` with ETag and 304, anything else
 * without validators. Give `port` to start it again on the same port after killing it.
 */
export async function startOrigin(name: string, port = 0): Promise<Running> {
  const child = spawnNode({
    name,
    args: ['--import', 'tsx', join(SERVERS, 'origin.ts')],
    env: { PORT: String(port) },
    cwd: ROOT,
    cpu: 'load',
  });
  const announced = (await child.announced) as { port: number };
  return { child, port: announced.port, url: `http://127.0.0.1:${announced.port}` };
}

/**
 * Runs bench/servers/invalidation-probe.ts against the build under test and returns its JSON
 * result; the probe is a child of its own (stopped by PID), so its big heap goes when it exits.
 */
export async function runInvalidationProbe(env: Record<string, string>, timeoutMs: number): Promise<Record<string, unknown>> {
  const child = spawnNode({
    name: 'invalidation-probe',
    args: ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', join(SERVERS, 'invalidation-probe.ts')],
    env: { ...env, SIDECACHE_SRC: builtSrcDir() },
    cwd: ROOT,
    announceTimeoutMs: timeoutMs,
    cpu: 'server',
  });
  try {
    return await child.announced;
  } finally {
    await stopChild(child);
  }
}

/** Runs an in-process probe (bench/servers/<file>: hit-costs.ts, seal-costs.ts) against the build under test on the server core; returns its JSON result. */
export async function runInProcessProbe(file: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const child = spawnNode({
    name: file.replace(/\.ts$/, ''),
    args: [...SIDECACHE_NODE_FLAGS, '--import', 'tsx', join(SERVERS, file)],
    env: { SIDECACHE_SRC: builtSrcDir() },
    cwd: ROOT,
    announceTimeoutMs: timeoutMs,
    cpu: 'server',
  });
  try {
    return await child.announced;
  } finally {
    await stopChild(child);
  }
}

/** The bare Fastify baseline (bench/servers/bare-fastify.ts). */
export async function startBareFastify(nodeArgs: readonly string[] = []): Promise<Running> {
  const child = spawnNode({
    name: 'bare-fastify',
    args: [...nodeArgs, '--import', 'tsx', join(SERVERS, 'bare-fastify.ts')],
    env: { PORT: '0' },
    cwd: ROOT,
    cpu: 'server',
  });
  const { port } = (await child.announced) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${url}/healthz`);
  return { child, port, url };
}

/** The naive read-through peer (bench/servers/naive.ts: Fastify + undici + lru-cache) in front of `upstreamUrl`. */
export async function startNaive(upstreamUrl: string): Promise<Running> {
  const child = spawnNode({
    name: 'naive',
    args: ['--import', 'tsx', join(SERVERS, 'naive.ts')],
    env: { PORT: '0', UPSTREAM_URL: upstreamUrl },
    cwd: ROOT,
    cpu: 'server',
  });
  const { port } = (await child.announced) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${url}/healthz`);
  return { child, port, url };
}

/**
 * A bare node:http server answering the bench's body (bench/servers/raw-http.ts), with the
 * naive peer's two fields or a lane hit's nine; run with sidecache's node flags, as it is.
 */
export async function startRawHttp(fields: 'naive' | 'lane'): Promise<Running> {
  const child = spawnNode({
    name: `raw-http-${fields}`,
    args: [...SIDECACHE_NODE_FLAGS, '--import', 'tsx', join(SERVERS, 'raw-http.ts')],
    env: { PORT: '0', FIELDS: fields },
    cwd: ROOT,
    cpu: 'server',
  });
  const { port } = (await child.announced) as { port: number };
  return { child, port, url: `http://127.0.0.1:${port}` };
}

export interface SidecacheOptions {
  readonly name: string;
  readonly upstreamUrl: string;
  readonly maxBytes?: string;
  readonly maxEntries?: number;
  /** false disables the memory tier (to measure the shared tiers alone). */
  readonly memory?: boolean;
  /** Redis tier URL; absent = no Redis tier. */
  readonly redisUrl?: string;
  /** Postgres URL for the Postgres tier; absent = no Postgres tier. */
  readonly databaseUrl?: string;
  readonly namespace?: string;
  /** The Postgres cache tier; default on exactly when `databaseUrl` is set (false: the database serves audit only). */
  readonly postgresTier?: boolean;
  /** `audit:` settings; absent = audit off, so the core scenarios measure the proxy alone. */
  readonly audit?: AuditOptions;
  /** `database.dataDir` (PGlite files, default audit spool); absent = sidecache's default (./data). */
  readonly dataDir?: string;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** `admin.token`; absent = the /admin/* routes are off (as in the core scenarios). */
  readonly adminToken?: string;
  /** The upstream's rules, one YAML flow mapping each; absent = the core scenarios' two rules. */
  readonly rules?: readonly string[];
  /** The upstream's `protection:` section as a YAML flow mapping; absent = sidecache's defaults. */
  readonly protection?: string;
  /** More upstreams after `bench`, each with a shipped preset (e.g. `jira` at /jira), for the change feeds. */
  readonly presetUpstreams?: readonly PresetUpstream[];
  /** The `hooks:` section as a YAML flow mapping; absent = every feed off. */
  readonly hooks?: string;
  /** `server.directHitWrites`; absent = sidecache's default (on). */
  readonly directHitWrites?: boolean;
  /** `server.batchHitWrites`; absent = sidecache's default (on). */
  readonly batchHitWrites?: boolean;
}

/** An upstream configured by its preset alone, as proxy.config.yaml ships `salesforce` and `jira`. */
export interface PresetUpstream {
  readonly name: string;
  readonly prefix: string;
  readonly target: string;
  readonly preset: string;
}

export interface AuditOptions {
  readonly enabled: boolean;
  readonly spoolDir?: string;
  readonly flushInterval?: string;
  readonly batchSize?: number;
}

/** A sidecache child, with the admin listener's port (always a free one, so children can run side by side). */
export interface RunningSidecache extends Running {
  readonly adminPort: number;
}

/** Writes a bench config to a temp dir (removed when the child exits) and starts sidecache with it. */
export async function startSidecache(options: SidecacheOptions): Promise<RunningSidecache> {
  const port = await freePort();
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-bench-'));
  const configPath = join(dir, 'proxy.config.yaml');
  writeFileSync(configPath, configYaml(port, adminPort, options));
  const child = spawnNode({
    name: options.name,
    args: [...SIDECACHE_NODE_FLAGS, ...(options.nodeArgs ?? []), mainJs],
    env: { PROXY_CONFIG: configPath, LOG_LEVEL: 'warn', PORT: String(port) },
    cwd: ROOT,
    cpu: 'server',
  });
  child.process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_resolve, reject) => {
    child.process.once('exit', (code) => reject(new Error(`${options.name} exited (code ${code}):\n${child.stderrTail()}`)));
  });
  exited.catch(() => undefined);
  const stopPolling = new AbortController();
  try {
    await Promise.race([waitForHealthy(`${url}/healthz`, 20_000, stopPolling.signal), exited]);
  } finally {
    stopPolling.abort();
  }
  return { child, port, url, adminPort };
}

const DEFAULT_RULES = ['{ path: /items/:id, ttl: 1h, scope: shared }', '{ path: /pass/:id, cache: false }'];

function configYaml(port: number, adminPort: number, options: SidecacheOptions): string {
  const q = (value: string) => JSON.stringify(value); // a JSON string is a valid YAML double-quoted scalar
  const audit = options.audit;
  const auditYaml =
    audit === undefined
      ? 'audit: { enabled: false }\n'
      : `audit: { enabled: ${audit.enabled}${audit.spoolDir === undefined ? '' : `, spoolDir: ${q(audit.spoolDir)}`}${
          audit.flushInterval === undefined ? '' : `, flushInterval: ${audit.flushInterval}`
        }${audit.batchSize === undefined ? '' : `, batchSize: ${audit.batchSize}`} }\n`;
  return `server: { host: 127.0.0.1, port: ${port}, logLevel: warn, shutdownGrace: 2s${options.directHitWrites === undefined ? '' : `, directHitWrites: ${options.directHitWrites}`}${
    options.batchHitWrites === undefined ? '' : `, batchHitWrites: ${options.batchHitWrites}`
  } }
admin: { host: 127.0.0.1, port: ${adminPort}${options.adminToken === undefined ? '' : `, token: ${q(options.adminToken)}`} }
cache:
  keySecret: bench-secret
  namespace: ${options.namespace ?? 'bench'}
  memory: { enabled: ${options.memory ?? true}, maxBytes: ${options.maxBytes ?? '256MB'}, maxEntries: ${options.maxEntries ?? 200000} }
  redis: { url: ${q(options.redisUrl ?? '')} }
  postgres: { enabled: ${options.postgresTier ?? options.databaseUrl !== undefined} }
database: { url: ${q(options.databaseUrl ?? '')}, poolSize: 20${options.dataDir === undefined ? '' : `, dataDir: ${q(options.dataDir)}`} }
${auditYaml}${options.hooks === undefined ? '' : `hooks: ${options.hooks}\n`}upstreams:
  - name: bench
    prefix: /bench
    target: ${options.upstreamUrl}
${options.protection === undefined ? '' : `    protection: ${options.protection}\n`}    rules:
${(options.rules ?? DEFAULT_RULES).map((rule) => `      - ${rule}\n`).join('')}${(options.presetUpstreams ?? [])
    .map((u) => `  - { name: ${u.name}, prefix: ${u.prefix}, target: ${u.target}, preset: ${u.preset} }\n`)
    .join('')}`;
}
