import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNode, type Child } from './children.js';
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

/** Compiles src/ to dist/ (tsconfig.build.json), so the bench always measures the current source. */
export function buildSidecache(): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (result.status !== 0) {
    throw new Error(`build failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`);
  }
}

/** The bench upstream (bench/servers/upstream.ts) on a random port, optionally slowed down. */
export async function startUpstream(name: string, delayMs = 0): Promise<Running> {
  const child = spawnNode({
    name,
    args: ['--import', 'tsx', join(SERVERS, 'upstream.ts')],
    env: { DELAY_MS: String(delayMs), PORT: '0' },
    cwd: ROOT,
  });
  const { port } = (await child.announced) as { port: number };
  return { child, port, url: `http://127.0.0.1:${port}` };
}

/** The bare Fastify baseline (bench/servers/bare-fastify.ts). */
export async function startBareFastify(): Promise<Running> {
  const child = spawnNode({ name: 'bare-fastify', args: ['--import', 'tsx', join(SERVERS, 'bare-fastify.ts')], env: { PORT: '0' }, cwd: ROOT });
  const { port } = (await child.announced) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(`${url}/healthz`);
  return { child, port, url };
}

export interface SidecacheOptions {
  readonly name: string;
  readonly upstreamUrl: string;
  readonly maxBytes?: string;
  readonly maxEntries?: number;
}

/** Writes a bench config to a temp dir and starts `node dist/src/main.js` with it. */
export async function startSidecache(options: SidecacheOptions): Promise<Running & { cleanup(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-bench-'));
  const configPath = join(dir, 'proxy.config.yaml');
  writeFileSync(configPath, configYaml(port, options));
  const child = spawnNode({
    name: options.name,
    args: [join(ROOT, 'dist', 'src', 'main.js')],
    env: { PROXY_CONFIG: configPath, LOG_LEVEL: 'warn', PORT: String(port) },
    cwd: ROOT,
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_resolve, reject) => {
    child.process.once('exit', (code) => reject(new Error(`${options.name} exited (code ${code}):\n${child.stderrTail()}`)));
  });
  exited.catch(() => undefined);
  await Promise.race([waitForHealthy(`${url}/healthz`), exited]);
  return { child, port, url, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function configYaml(port: number, options: SidecacheOptions): string {
  return `server: { host: 127.0.0.1, port: ${port}, logLevel: warn, shutdownGrace: 2s }
cache: { keySecret: bench-secret, memory: { maxBytes: ${options.maxBytes ?? '256MB'}, maxEntries: ${options.maxEntries ?? 200000} } }
upstreams:
  - name: bench
    prefix: /bench
    target: ${options.upstreamUrl}
    rules:
      - { path: /items/:id, ttl: 1h, scope: shared }
      - { path: /pass/:id, cache: false }
`;
}
