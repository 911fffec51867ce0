import t from 'tap';
import { interpolate, interpolateString } from '../../../src/config/interpolate.js';

const env = { HOST: 'db.internal', PORT: '5432', EMPTY: '', TRICKY: 'a: b\n- c' };

t.test('${VAR} takes the value of a set variable', async (t) => {
  t.strictSame(interpolateString('${HOST}', env), { value: 'db.internal', unset: [] });
  t.strictSame(interpolateString('http://${HOST}:${PORT}/x', env), { value: 'http://db.internal:5432/x', unset: [] });
});

t.test('${VAR:-default} falls back when the variable is unset or empty', async (t) => {
  t.strictSame(interpolateString('${PORT:-8080}', env), { value: '5432', unset: [] });
  t.strictSame(interpolateString('${NOPE:-8080}', env), { value: '8080', unset: [{ name: 'NOPE', hasDefault: true }] });
  t.strictSame(interpolateString('${EMPTY:-x}', env), { value: 'x', unset: [{ name: 'EMPTY', hasDefault: true }] });
  t.strictSame(interpolateString('${NOPE:-}', env), { value: '', unset: [{ name: 'NOPE', hasDefault: true }] });
  t.strictSame(interpolateString('${NOPE:-a:b c}', env), { value: 'a:b c', unset: [{ name: 'NOPE', hasDefault: true }] });
});

t.test('unset ${VAR} without a default becomes "" and is remembered', async (t) => {
  t.strictSame(interpolateString('x${NOPE}y', env), { value: 'xy', unset: [{ name: 'NOPE', hasDefault: false }] });
});

t.test('$${ is a literal ${ and a lone $ is kept', async (t) => {
  t.strictSame(interpolateString('$${HOST}', env), { value: '${HOST}', unset: [] });
  t.strictSame(interpolateString('cost: $5, $$ and $HOST', env), { value: 'cost: $5, $$ and $HOST', unset: [] });
  t.strictSame(interpolateString('$${HOST}=${HOST}', env), { value: '${HOST}=db.internal', unset: [] });
  t.strictSame(interpolateString('$', env), { value: '$', unset: [] });
});

t.test('malformed references are reported, not guessed', async (t) => {
  t.strictSame(interpolateString('${HOST', env), { error: 'unterminated "${" (write "$${" for a literal "${")' });
  t.strictSame(interpolateString('${1X}', env), {
    error: 'invalid variable reference "${1X}" (expected ${NAME} or ${NAME:-default})',
  });
  t.strictSame(interpolateString('${A-b}', env), {
    error: 'invalid variable reference "${A-b}" (expected ${NAME} or ${NAME:-default})',
  });
  t.strictSame(interpolateString('${}', env), {
    error: 'invalid variable reference "${}" (expected ${NAME} or ${NAME:-default})',
  });
  t.strictSame(interpolateString('${A:-${B}}', env), {
    error: 'invalid variable reference "${A:-${B}" (expected ${NAME} or ${NAME:-default})',
  });
});

t.test('interpolate walks string scalars of the tree, never keys, and records paths', async (t) => {
  const tree = {
    server: { port: '${PORT}', host: '${NOPE:-0.0.0.0}', enabled: true, count: 3 },
    '${HOST}': 'key stays',
    upstreams: [{ target: '${SF_URL}' }, { list: ['${HOST}', null] }],
  };
  const frozen = structuredClone(tree);
  const result = interpolate(tree, env);
  t.strictSame(result.value, {
    server: { port: '5432', host: '0.0.0.0', enabled: true, count: 3 },
    '${HOST}': 'key stays',
    upstreams: [{ target: '' }, { list: ['db.internal', null] }],
  });
  t.strictSame(result.unset, [
    { path: ['server', 'host'], name: 'NOPE', hasDefault: true },
    { path: ['upstreams', 0, 'target'], name: 'SF_URL', hasDefault: false },
  ]);
  t.strictSame(result.problems, []);
  t.strictSame(tree, frozen, 'the input tree is not modified');
});

t.test('a variable value cannot inject YAML structure', async (t) => {
  const result = interpolate({ a: '${TRICKY}' }, env);
  t.strictSame(result.value, { a: 'a: b\n- c' });
});

t.test('interpolate reports malformed references with their path and keeps the raw string', async (t) => {
  const result = interpolate({ server: { host: '${BAD' } }, env);
  t.strictSame(result.value, { server: { host: '${BAD' } });
  t.strictSame(result.problems, [{ path: ['server', 'host'], message: 'unterminated "${" (write "$${" for a literal "${")' }]);
});
