import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { waitFor } from './drill.js';
import { freePort } from './net.js';
import { missingService } from './services.js';

/**
 * The path of a Prometheus tool (`prometheus`, `promtool`: Debian's `prometheus` package), or
 * null after failing the test (REQUIRE_SERVICES=1) or skipping it loudly.
 */
export function prometheusToolOrSkip(t: Test, tool: 'prometheus' | 'promtool'): string | null {
  const found = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (found.error === undefined && found.status === 0) return tool;
  missingService(t, { message: `${tool} is not installed (apt-get install -y prometheus)`, skipped: 'the dashboard and alert-rule tests are SKIPPED.', label: 'prometheus tests' });
  return null;
}

export interface PrometheusServer {
  readonly url: string;
  /** Runs an instant query; resolves Prometheus' answer (status, data or error). */
  query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: unknown[] } }>;
}

/**
 * A Prometheus server on 127.0.0.1 scraping `targets` (host:port, path /metrics) every second,
 * with its own temporary storage. Stopped by PID, and its files removed, when the test ends.
 */
export async function startPrometheus(t: Test, binary: string, targets: readonly string[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: sidecache\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`,
  );
  const port = await freePort();
  const child = spawn(binary, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus ready (${stderr})`, async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true, 20_000, 100);
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      return (await res.json()) as Awaited<ReturnType<PrometheusServer['query']>>;
    },
  };
}
