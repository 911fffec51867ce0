import type { Server } from 'node:http';

/**
 * Runs a bench child's node:http server: listens on 127.0.0.1, prints `{"port": N}` on stdout
 * for the parent, and closes every connection on SIGTERM before exiting 0.
 */
export function serveChild(server: Server, port: number): void {
  // Longer than the proxy pool's keep-alive, so idle sockets are closed by the client side.
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
