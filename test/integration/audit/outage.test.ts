import { createConnection, createServer, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { openDatabase } from '../../../src/db/sql.js';
import { DATABASE_URL_TEST, postgresOrSkip, testDatabaseOptions } from '../../helpers/database.js';
import { rowCount, switchable, testEvent, testWriter, waitFor } from './helpers.js';

/**
 * A real outage: node-postgres talks to Postgres through a TCP proxy that the test cuts
 * (existing connections reset, new ones refused — or, as a black hole, accepted and never
 * answered) and restores on the same port.
 */
interface TcpProxy {
  readonly port: number;
  cut(how: 'refuse' | 'blackhole'): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function tcpProxy(t: Test, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let mode: 'up' | 'blackhole' = 'up';
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'blackhole') return;
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  const stop = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const proxy: TcpProxy = {
    port,
    async cut(how) {
      if (how === 'refuse') {
        const stopped = stop();
        dropAll();
        await stopped;
      } else {
        mode = 'blackhole';
        dropAll();
      }
    },
    async restore() {
      mode = 'up';
      dropAll();
      if (!server.listening) await listen(port);
    },
    async close() {
      const stopped = stop();
      dropAll();
      await stopped;
    },
  };
  t.teardown(() => proxy.close());
  return proxy;
}

const pgTarget = await postgresOrSkip(t);
const targetPort = Number(new URL(DATABASE_URL_TEST).port || 5432);

for (const how of ['refuse', 'blackhole'] as const) {
  t.test(`a real Postgres outage (${how}) while events flow: spooled, replayed once, in order`, { skip: pgTarget === null }, async (t) => {
    const base = await pgTarget!.open(t, { migrate: true });
    const proxy = await tcpProxy(t, targetPort);
    const url = new URL(DATABASE_URL_TEST);
    url.port = String(proxy.port);
    const pool = await openDatabase(
      testDatabaseOptions({ url: url.toString(), searchPath: base.schema, poolSize: 2, connectTimeoutMs: 500, statementTimeoutMs: 5_000, onError: () => {} }),
    );
    t.teardown(() => pool.close());
    const db = switchable(pool);
    const { writer } = testWriter(t, db, {
      config: { batchSize: 50, flushIntervalMs: 20 },
      insertTimeoutMs: 300,
      replayIntervalMs: 100,
      stuckMs: 2_000,
    });
    await writer.start();

    let seq = 0;
    const flow = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        for (let i = 0; i < 10; i++) writer.record(testEvent(seq++));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await flow(400);
    await waitFor(t, 'rows arriving directly', async () => (await rowCount(base)) > 0);
    await proxy.cut(how);
    await flow(1_500);
    await waitFor(t, 'spooling', () => writer.stats().spooled > 0);
    const during = writer.stats();
    t.ok(during.spoolPendingRows > 0, `${during.spoolPendingRows} rows waiting in the spool`);
    t.equal(writer.health(), 'spooling');
    await proxy.restore();
    await flow(500);

    await waitFor(t, 'every event in the table', async () => (await rowCount(base)) === seq, 20_000);
    await waitFor(t, 'spool drained, direct inserts again', () => writer.stats().spoolPendingRows === 0 && writer.health() === 'ok', 10_000);
    const { rows } = await base.query<{ n: string; d: string }>('SELECT count(*)::int8 AS n, count(DISTINCT request_id)::int8 AS d FROM audit_logs');
    t.same(rows[0], { n: String(seq), d: String(seq) }, `${seq} events, ${seq} rows, no duplicates`);
    const firstSeen = [...new Set(db.insertedIds)];
    t.same(firstSeen, [...firstSeen].sort(), 'rows reached the table in recording order');
    const stats = writer.stats();
    t.equal(stats.dropped, 0);
    t.comment(`${how}: ${seq} events; written directly ${stats.written}, spooled ${stats.spooled}, replayed ${stats.replayed}`);
  });
}
