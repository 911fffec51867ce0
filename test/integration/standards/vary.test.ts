import t from 'tap';
import { startStandards, type OriginScript } from './harness.js';

/** A response that varies on Accept-Language (the field name spelt as given) and says which language it got. */
const byLanguage =
  (vary = 'Accept-Language'): OriginScript =>
  (req, n) => ({
    headers: { 'cache-control': 'max-age=600', vary },
    body: `${req.headers['accept-language'] ?? '(none)'} #${n}`,
  });

t.test('RFC 9111 §4.1: one stored response per variant; each is reused for its own requests', async (t) => {
  const s = await startStandards(t, byLanguage());
  t.equal((await s.get('/v', { 'accept-language': 'fr' })).body.toString(), 'fr #1');
  t.equal((await s.get('/v', { 'accept-language': 'en' })).body.toString(), 'en #2');
  t.equal(s.seen('/v')[0]!.headers['accept-language'], 'fr', 'the varying field reaches the origin');
  t.equal(s.seen('/v')[1]!.headers['accept-language'], 'en');
  s.advance(10);
  t.equal((await s.get('/v', { 'accept-language': 'fr' })).body.toString(), 'fr #1', 'fr is served the fr variant');
  t.equal((await s.get('/v', { 'accept-language': 'en' })).body.toString(), 'en #2', 'en is served the en variant');
  t.equal(s.seen('/v').length, 2, 'both variants stored: the origin was asked twice in all');
});

t.test('RFC 9111 §4.1: a request with a different value of a varying field does not match', async (t) => {
  const s = await startStandards(t, byLanguage());
  await s.get('/v', { 'accept-language': 'fr' });
  const other = await s.get('/v', { 'accept-language': 'de' });
  t.equal(s.seen('/v').length, 2, 'the origin is asked');
  t.equal(other.body.toString(), 'de #2');
});

t.test('RFC 9111 §4.1: Vary: * never matches', async (t) => {
  const s = await startStandards(t, byLanguage('*'));
  for (const n of [1, 2, 3]) {
    const response = await s.get('/star', { 'accept-language': 'fr' });
    t.equal(response.body.toString(), `fr #${n}`);
  }
  t.equal(s.seen('/star').length, 3, 'every request goes to the origin');
});

t.test('RFC 9111 §4.1: matching normalises whitespace, field-name case and repeated field lines', async (t) => {
  const s = await startStandards(t, byLanguage('ACCEPT-LANGUAGE'));
  const stored = (await s.get('/norm', { 'Accept-Language': 'fr, en' })).body.toString();
  t.match(stored, / #1$/);
  t.equal((await s.get('/norm', { 'accept-language': 'fr,en' })).body.toString(), stored, 'whitespace after the comma does not matter');
  t.equal((await s.get('/norm', { 'accept-language': ['fr', 'en'] })).body.toString(), stored, 'two field lines combine to the same value');
  t.equal(s.seen('/norm').length, 1, 'all three requests match the one stored response');
});

t.test('RFC 9111 §4.1: a varying field absent from both requests matches', async (t) => {
  const s = await startStandards(t, byLanguage());
  await s.get('/absent');
  const second = await s.get('/absent');
  t.equal(s.seen('/absent').length, 1);
  t.equal(second.body.toString(), '(none) #1');
});

t.test('RFC 9111 §4.1: a varying field absent from one request and present in the other does not match', async (t) => {
  const s = await startStandards(t, byLanguage());
  await s.get('/absent');
  const present = await s.get('/absent', { 'accept-language': 'fr' });
  t.equal(s.seen('/absent').length, 2, 'present does not match absent');
  t.equal(present.body.toString(), 'fr #2');
  const absentAgain = await s.get('/absent');
  t.equal(s.seen('/absent').length, 2, 'and absent still matches its own variant');
  t.equal(absentAgain.body.toString(), '(none) #1');
});
