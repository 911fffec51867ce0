import t from 'tap';
import {
  acceptsAsIs,
  chooseCoding,
  contentCodings,
  forbidsTransform,
  parseAcceptEncoding,
  transcodedHeaders,
  varyWithAcceptEncoding,
  weakETag,
} from '../../../src/policy/content-coding.js';

t.test('Accept-Encoding weights: listed codings, `*`, and identity acceptable unless excluded (RFC 9110 §12.5.3)', async (t) => {
  const browser = parseAcceptEncoding('gzip, deflate, br, zstd');
  t.equal(browser.weight('gzip'), 1);
  t.equal(browser.weight('br'), 1);
  t.equal(browser.weight('compress'), 0, 'an unlisted coding is not acceptable');
  t.ok(browser.weight('identity') > 0 && browser.weight('identity') < 0.001, 'unlisted identity: acceptable, preferred least');

  const weighted = parseAcceptEncoding('br;q=0.5, GZIP ; Q=0.8, identity;q=0.1');
  t.equal(weighted.weight('br'), 0.5);
  t.equal(weighted.weight('gzip'), 0.8, 'names and the q parameter are case-insensitive');
  t.equal(weighted.weight('identity'), 0.1);

  const star = parseAcceptEncoding('*;q=0.3, br;q=0');
  t.equal(star.weight('gzip'), 0.3, '`*` covers unlisted codings');
  t.equal(star.weight('identity'), 0.3, '`*` covers identity too');
  t.equal(star.weight('br'), 0, 'a listed coding beats `*`');

  t.equal(parseAcceptEncoding('identity;q=0').weight('identity'), 0);
  t.equal(parseAcceptEncoding('*;q=0').weight('identity'), 0, '`*;q=0` excludes identity when it is not listed');
  t.equal(parseAcceptEncoding('*;q=0, identity').weight('identity'), 1, 'a more specific identity entry wins');
  t.equal(parseAcceptEncoding('x-gzip').weight('gzip'), 1, 'x-gzip is gzip (§8.4.1.3)');
});

t.test('no Accept-Encoding, or an empty one, accepts identity only', async (t) => {
  for (const header of [undefined, '', '  ']) {
    const accepted = parseAcceptEncoding(header);
    t.equal(accepted.weight('identity'), 1, `${JSON.stringify(header)}: identity`);
    t.equal(accepted.weight('gzip'), 0, `${JSON.stringify(header)}: no gzip`);
  }
});

t.test('malformed elements are ignored; a repeated coding keeps its first weight', async (t) => {
  const accepted = parseAcceptEncoding('gzip;q=2, br;q=abc, deflate;level=1, ,identity;q=0.5, identity;q=1');
  t.equal(accepted.weight('gzip'), 0, 'q above 1 is not a qvalue');
  t.equal(accepted.weight('br'), 0);
  t.equal(accepted.weight('deflate'), 0, 'a parameter other than q is not a weight');
  t.equal(accepted.weight('identity'), 0.5);
  t.equal(parseAcceptEncoding('gzip;q=0.001').weight('gzip'), 0.001, 'three decimals are allowed');
  t.equal(parseAcceptEncoding('gzip;q=0.0001').weight('gzip'), 0, 'four are not');
});

t.test('the codings of a stored body, in the order applied', async (t) => {
  t.same(contentCodings({}), []);
  t.same(contentCodings({ 'content-encoding': 'identity' }), []);
  t.same(contentCodings({ 'content-encoding': 'GZIP' }), ['gzip']);
  t.same(contentCodings({ 'content-encoding': 'x-gzip' }), ['gzip']);
  t.same(contentCodings({ 'content-encoding': 'deflate, br' }), ['deflate', 'br']);
  t.same(contentCodings({ 'content-encoding': ['gzip', 'br'] }), ['gzip', 'br']);
});

t.test('a body goes as stored whenever the client accepts its codings', async (t) => {
  t.ok(acceptsAsIs(parseAcceptEncoding('gzip, deflate'), ['gzip']));
  t.ok(acceptsAsIs(parseAcceptEncoding('br;q=1, gzip;q=0.1'), ['gzip']), 'even when another coding is preferred');
  t.notOk(acceptsAsIs(parseAcceptEncoding(undefined), ['gzip']));
  t.ok(acceptsAsIs(parseAcceptEncoding(undefined), []));
  t.notOk(acceptsAsIs(parseAcceptEncoding('identity;q=0'), []));
  t.notOk(acceptsAsIs(parseAcceptEncoding('gzip'), ['deflate', 'gzip']), 'every coding applied must be accepted');
  t.same(chooseCoding(parseAcceptEncoding('gzip'), ['gzip'], 10), { kind: 'as-is' });
});

t.test('otherwise the produced coding the client weighs highest, ties to gzip, identity last', async (t) => {
  const choose = (header: string | undefined, stored: string[]) => chooseCoding(parseAcceptEncoding(header), stored, 10);
  t.same(choose(undefined, ['gzip']), { kind: 'transcode', to: 'identity' }, 'curl without --compressed');
  t.same(choose('br', ['gzip']), { kind: 'transcode', to: 'br' });
  t.same(choose('gzip, deflate', ['br']), { kind: 'transcode', to: 'gzip' }, 'node-fetch / jsforce with a br entry');
  t.same(choose('br, gzip', ['deflate']), { kind: 'transcode', to: 'gzip' }, 'a tie goes to gzip');
  t.same(choose('br;q=1, gzip;q=0.5', ['deflate']), { kind: 'transcode', to: 'br' });
  t.same(choose('identity;q=1, gzip;q=0.5', ['br']), { kind: 'transcode', to: 'identity' }, 'an explicit identity weight counts');
  t.same(choose('zstd', ['gzip']), { kind: 'transcode', to: 'identity' }, 'unlisted identity is still acceptable');
  t.same(choose('zstd, identity;q=0', ['gzip']), { kind: 'none' });
  t.same(choose('identity;q=0, *;q=0', []), { kind: 'none' });
  t.same(choose('gzip, identity;q=0', []), { kind: 'transcode', to: 'gzip' }, 'identity excluded: an identity body is compressed');
  t.same(chooseCoding(parseAcceptEncoding(undefined), ['gzip'], 0), { kind: 'as-is' }, 'an empty body has nothing to decode');
});

t.test('no-transform (RFC 9110 §7.7): the body goes as stored, whatever the client accepts', async (t) => {
  t.same(chooseCoding(parseAcceptEncoding('identity'), ['gzip'], 10, true), { kind: 'as-is' });
  t.same(chooseCoding(parseAcceptEncoding('br'), ['gzip'], 10, true), { kind: 'as-is' });
  t.same(chooseCoding(parseAcceptEncoding('identity;q=0, *;q=0'), [], 10, true), { kind: 'as-is' }, 'not even a 406');
  t.equal(forbidsTransform({ 'cache-control': 'max-age=60, No-Transform' }), true, 'directive names are case-insensitive');
  t.equal(forbidsTransform({ 'cache-control': ['public', 'no-transform'] }), true, 'repeated field lines combine');
  t.equal(forbidsTransform({ 'cache-control': 'max-age=60, private="no-transform"' }), false, 'a quoted value is not a directive');
  t.equal(forbidsTransform({ 'cdn-cache-control': 'no-transform' }), false, 'targeted fields address caches, not transformation');
  t.equal(forbidsTransform({}), false);
});

t.test('Vary names Accept-Encoding once', async (t) => {
  t.equal(varyWithAcceptEncoding(undefined), 'Accept-Encoding');
  t.equal(varyWithAcceptEncoding(''), 'Accept-Encoding');
  t.equal(varyWithAcceptEncoding('Accept'), 'Accept, Accept-Encoding');
  t.equal(varyWithAcceptEncoding('accept-encoding, Accept'), 'accept-encoding, Accept');
  t.equal(varyWithAcceptEncoding(['Accept', 'Origin']), 'Accept, Origin, Accept-Encoding');
  t.equal(varyWithAcceptEncoding('*'), '*');
});

t.test('a re-coded head: coding set or dropped, byte fields dropped, Vary added, ETag weakened', async (t) => {
  const stored = { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': '31', etag: '"v1"', vary: 'Accept', 'content-digest': 'sha-256=:x:' };
  t.same(transcodedHeaders(stored, 'identity'), { 'content-type': 'application/json', etag: 'W/"v1"', vary: 'Accept, Accept-Encoding' });
  t.same(transcodedHeaders(stored, 'br'), { 'content-type': 'application/json', etag: 'W/"v1"', vary: 'Accept, Accept-Encoding', 'content-encoding': 'br' });
  t.same(transcodedHeaders({ etag: 'W/"w"' }, 'gzip'), { etag: 'W/"w"', vary: 'Accept-Encoding', 'content-encoding': 'gzip' }, 'a weak tag stays as it is');
  t.equal(weakETag(' "a" '), 'W/"a"');
});
