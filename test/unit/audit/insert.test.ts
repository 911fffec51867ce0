import t from 'tap';
import { isDataError, isServerError } from '../../../src/audit/insert.js';

t.test('isServerError tells an answer from Postgres from a failed connection', async (t) => {
  t.ok(isServerError(Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' })));
  t.ok(isServerError(Object.assign(new Error('canceling statement'), { code: '57014', severity: 'ERROR' })));
  t.notOk(isServerError(Object.assign(new Error('broken pipe'), { code: 'EPIPE' })), 'a five-letter errno is not a SQLSTATE');
  t.notOk(isServerError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })));
  t.notOk(isServerError(new Error('Connection terminated unexpectedly')));
  t.notOk(isServerError(null));
  t.ok(isDataError({ code: '22P02' }));
  t.notOk(isDataError({ code: '57014' }));
});
