import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { openDatabase } from '../../../src/db/sql.js';
import { DATABASE_URL_TEST, databases, pglite, pgliteTemplate, postgresOrSkip, testDatabaseOptions } from '../../helpers/database.js';

for (const target of await databases(t)) {
  t.test(`SQL adapter on ${target.name}`, async (t) => {
    const db = await target.open(t);
    await db.query('CREATE TABLE things (id int PRIMARY KEY, data bytea, n int8, f float8, tags text[], doc jsonb)');

    t.test('kind names the driver', async (t) => {
      t.equal(db.kind, target.name);
    });

    t.test('bytea comes back as a Buffer, parameters and literals alike', async (t) => {
      const bytes = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28]);
      await db.query('INSERT INTO things (id, data) VALUES ($1, $2), ($3, $4)', [1, bytes, 2, Buffer.alloc(0)]);
      const { rows } = await db.query<{ id: number; data: Buffer }>('SELECT id, data FROM things WHERE id IN (1, 2) ORDER BY id');
      t.ok(Buffer.isBuffer(rows[0]!.data), 'a Buffer');
      t.same([...rows[0]!.data], [...bytes]);
      t.ok(Buffer.isBuffer(rows[1]!.data), 'an empty bytea is a Buffer too');
      t.equal(rows[1]!.data.length, 0);
      const literal = await db.query<{ b: Buffer }>(`SELECT '\\x00ff'::bytea AS b`);
      t.ok(Buffer.isBuffer(literal.rows[0]!.b), 'without parameters (simple protocol) too');
      t.same([...literal.rows[0]!.b], [0, 255]);
      await db.query('DELETE FROM things');
    });

    t.test('int8 is a string, float8 a number, text[] an array, jsonb parsed', async (t) => {
      await db.query('INSERT INTO things (id, n, f, tags, doc) VALUES ($1, $2, $3, $4::text[], $5::jsonb)', [
        1,
        '9007199254740993',
        1.5,
        ['a', 'b,c', 'Ü"'],
        JSON.stringify({ k: ['v'] }),
      ]);
      const { rows } = await db.query('SELECT n, f, tags, doc, count(*) OVER () AS total FROM things');
      t.same(rows[0], { n: '9007199254740993', f: 1.5, tags: ['a', 'b,c', 'Ü"'], doc: { k: ['v'] }, total: '1' });
      await db.query('DELETE FROM things');
    });

    t.test('rowCount counts rows changed or returned', async (t) => {
      t.equal((await db.query('INSERT INTO things (id) VALUES ($1), ($2), ($3)', [1, 2, 3])).rowCount, 3, 'insert');
      t.equal((await db.query('UPDATE things SET n = $1 WHERE id >= $2', [7, 2])).rowCount, 2, 'update');
      t.equal((await db.query('SELECT * FROM things WHERE n = $1', [7])).rowCount, 2, 'select with parameters');
      t.equal((await db.query('SELECT * FROM things')).rowCount, 3, 'select without parameters');
      t.equal((await db.query('DELETE FROM things WHERE id = $1', [99])).rowCount, 0, 'delete of nothing');
      t.equal((await db.query('DELETE FROM things')).rowCount, 3, 'delete');
    });

    t.test('without parameters, several statements run and the last one answers', async (t) => {
      const result = await db.query<{ n: string }>(
        'INSERT INTO things (id) VALUES (1); INSERT INTO things (id) VALUES (2); SELECT count(*) AS n FROM things',
      );
      t.same(result.rows, [{ n: '2' }]);
      t.equal(result.rowCount, 1);
      await t.rejects(db.query('SELECT $1::int; SELECT 2', [1]), 'not with parameters');
      await db.query('DELETE FROM things');
    });

    t.test('an SQL error rejects with the server message', async (t) => {
      await t.rejects(db.query('SELECT * FROM no_such_table'), /no_such_table/);
      t.same((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'and the database still works');
    });

    t.test('withClient runs a transaction on one connection', async (t) => {
      await db.withClient(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO things (id) VALUES ($1)', [10]);
        await client.query('ROLLBACK');
      });
      t.equal((await db.query('SELECT * FROM things WHERE id = 10')).rowCount, 0, 'rolled back');
      const value = await db.withClient(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO things (id) VALUES ($1)', [11]);
        await client.query('COMMIT');
        return 'done';
      });
      t.equal(value, 'done', 'resolves what fn returns');
      t.equal((await db.query('SELECT * FROM things WHERE id = 11')).rowCount, 1, 'committed');
      await db.query('DELETE FROM things');
    });

    t.test('withClient rejects with what fn threw, and its transaction does not outlive it', async (t) => {
      await t.rejects(
        db.withClient(async (client) => {
          await client.query('BEGIN');
          await client.query('INSERT INTO things (id) VALUES ($1)', [20]);
          throw new Error('boom');
        }),
        /boom/,
      );
      t.equal((await db.query('SELECT * FROM things WHERE id = 20')).rowCount, 0, 'nothing committed');
    });

    t.test('poolStats reports the pool', async (t) => {
      const stats = db.poolStats();
      t.ok(stats.max >= 1 && stats.total <= stats.max && stats.idle <= stats.total && stats.waiting >= 0, JSON.stringify(stats));
      if (db.kind === 'pglite') t.same(stats, { total: 1, idle: 1, waiting: 0, max: 1 });
    });
  });
}

t.test('PGlite serialises statements around a withClient session', async (t) => {
  const db = await pglite.open(t);
  await db.query('CREATE TABLE events (seq serial PRIMARY KEY, what text NOT NULL)');
  const order: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const session = db.withClient(async (client) => {
    await client.query('BEGIN');
    await client.query('INSERT INTO events (what) VALUES ($1)', ['in-transaction']);
    order.push('session: inserted');
    await held;
    await client.query('ROLLBACK');
    order.push('session: rolled back');
  });
  await sleep(20);
  const outside = db.query('INSERT INTO events (what) VALUES ($1)', ['outside']).then(() => order.push('outside: inserted'));
  await sleep(50);
  t.same(order, ['session: inserted'], 'the outside statement waits for the session');
  t.same(db.poolStats(), { total: 1, idle: 0, waiting: 1, max: 1 }, 'one busy connection, one waiter');
  release();
  await Promise.all([session, outside]);
  t.same(order, ['session: inserted', 'session: rolled back', 'outside: inserted']);
  const { rows } = await db.query<{ what: string }>('SELECT what FROM events');
  t.same(rows, [{ what: 'outside' }], 'the rollback did not take the outside insert with it');
});

t.test('PGlite: a closed database rejects, and close is idempotent', async (t) => {
  const db = await openDatabase(testDatabaseOptions({ pgliteTemplate: await pgliteTemplate() }));
  t.same((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await db.close();
  await db.close();
  await t.rejects(db.query('SELECT 1'), /closed/);
});

t.test('postgres: withClient discards a connection whose session failed', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await target.open(t, { poolSize: 1 });
  const pidOf = (client: { query: typeof db.query }) =>
    client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').then((r) => r.rows[0]!.pid);
  const first = await db.withClient(pidOf);
  t.equal(await db.withClient(pidOf), first, 'a successful session returns its connection to the pool');
  await t.rejects(
    db.withClient(async (client) => {
      await client.query('BEGIN');
      throw new Error('half-way');
    }),
  );
  t.not(await db.withClient(pidOf), first, 'a failed session does not (it may hold a transaction)');
  const open = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND state LIKE 'idle in transaction%'",
    [first],
  );
  t.equal(open.rows[0]!.n, '0', 'and the half-open transaction is gone');
});

t.test('postgres: an idle connection that dies is reported, not thrown', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const test = await target.open(t);
  const errors: Error[] = [];
  const db = await openDatabase(
    testDatabaseOptions({ url: DATABASE_URL_TEST, poolSize: 1, searchPath: test.schema, onError: (err) => errors.push(err) }),
  );
  t.teardown(() => db.close());
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await test.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(20);
  t.equal(errors.length, 1, 'onError was called');
  t.match(errors[0]?.message, /terminat/i);
  t.same((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool reconnects');
});

t.test('postgres: close is idempotent, and a closed pool rejects', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const db = await openDatabase(testDatabaseOptions({ url: DATABASE_URL_TEST, poolSize: 1 }));
  t.same((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await db.close();
  await db.close();
  await t.rejects(db.query('SELECT 1'));
});

t.test('postgres: statement_timeout and search_path apply to every pooled connection', async (t) => {
  const target = await postgresOrSkip(t);
  if (target === null) return;
  const test = await target.open(t);
  const db = await openDatabase(testDatabaseOptions({ url: DATABASE_URL_TEST, poolSize: 2, searchPath: test.schema, statementTimeoutMs: 200 }));
  t.teardown(() => db.close());
  const [a, b] = await Promise.all([
    db.query<{ s: string; p: string }>('SELECT current_setting($1) AS s, current_schema() AS p', ['statement_timeout']),
    db.query<{ s: string; p: string }>('SELECT current_setting($1) AS s, current_schema() AS p', ['statement_timeout']),
  ]);
  t.same(a.rows[0], { s: '200ms', p: test.schema });
  t.same(b.rows[0], { s: '200ms', p: test.schema });
  await t.rejects(db.query('SELECT pg_sleep(2)'), /statement timeout/);
});
