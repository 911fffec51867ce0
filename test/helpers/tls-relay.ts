// A self-signed certificate made in the test, and TLS relays in front of the plain Redis and Postgres.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import type { Test } from 'tap';

export interface SelfSigned {
  /** The certificate (also the CA a client trusts), PEM file. */
  readonly certPath: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A fresh self-signed certificate for 127.0.0.1 and localhost (openssl), removed at test end. */
export function selfSignedCertificate(t: Test): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'sidecache-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr || made.error?.message}`);
  return { certPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

export interface TlsRelay {
  readonly port: number;
  /** TLS sessions completed so far. */
  handshakes(): number;
}

/** Postgres asks for TLS with this 8-byte message before the handshake (protocol 1234.5679). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A TLS endpoint relaying to a plain server. `postgres: true` speaks Postgres's TLS upgrade: it
 * answers the client's SSLRequest with "S", then the handshake starts.
 */
export async function startTlsRelay(t: Test, options: { target: { host: string; port: number }; tls: SelfSigned; postgres?: boolean }): Promise<TlsRelay> {
  let handshakes = 0;
  const secure = (socket: Socket): void => {
    const tls = new TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
    tls.once('secure', () => {
      handshakes += 1;
      const upstream = connect(options.target.port, options.target.host);
      tls.pipe(upstream).pipe(tls);
      const close = () => {
        tls.destroy();
        upstream.destroy();
      };
      upstream.on('error', close).on('close', close);
      tls.on('error', close).on('close', close);
    });
    tls.on('error', () => socket.destroy());
  };
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    if (options.postgres !== true) return secure(socket);
    socket.once('readable', function first() {
      const head = socket.read(8) as Buffer | null;
      if (head === null) return socket.once('readable', first);
      if (!head.equals(SSL_REQUEST)) return socket.destroy();
      // Wrapped in the same turn as the "S" is written: the client's ClientHello can only follow
      // the "S", and a TLSSocket reads from the socket's handle, so a hello read into the plain
      // socket's buffer before the wrap (as waiting for the write's callback allowed) was lost
      // and the handshake hung.
      socket.write('S');
      secure(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    for (const socket of open) socket.destroy();
  });
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, handshakes: () => handshakes };
}
