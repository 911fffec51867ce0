import { buildInstanceAdminApp } from './admin/instance.js';
import { buildApp } from './app.js';
import { ConfigError, formatConfigError, loadConfig } from './config/load.js';
import { keepNextTickShapes } from './server/tick-shapes.js';

/** Entry point: load config → build → listen; SIGTERM/SIGINT drain in-flight requests, then exit. */
async function main(): Promise<void> {
  void keepNextTickShapes();
  const configPath = process.env['PROXY_CONFIG'] ?? './proxy.config.yaml';
  let loaded;
  try {
    loaded = loadConfig({ path: configPath, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${formatConfigError(err)}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const sidecache = await buildApp(config);
  const { app } = sidecache;
  for (const warning of warnings) app.log.warn(warning);
  const admin = buildInstanceAdminApp(sidecache, config);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, graceMs: config.server.shutdownGraceMs }, 'draining in-flight requests');
    sidecache.startDraining();
    const forced = setTimeout(() => {
      app.log.error('shutdown grace period expired; closing remaining connections');
      app.server.closeAllConnections();
      process.exit(1);
    }, config.server.shutdownGraceMs);
    forced.unref();
    // Connections busy at SIGTERM turn into idle keep-alives as their requests finish; close
    // them as they do, or server.close() would wait for the clients to hang up.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
    await app.close();
    await admin.close();
    clearInterval(reaper);
    clearTimeout(forced);
    app.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // The admin listener first: once the traffic port answers, /healthz included, every route is up.
  await admin.listen({ host: config.admin.host, port: config.admin.port });
  await app.listen({ host: config.server.host, port: config.server.port });
}

main().catch((err: unknown) => {
  process.stderr.write(`sidecache failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
