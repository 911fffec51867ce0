import t from 'tap';
import { sharedSecretMatches, signatureMatches, signBody } from '../../../src/hooks/signature.js';

const body = Buffer.from('{"webhookEvent":"jira:issue_updated"}');

t.test('a signature over the raw body with the secret matches', async (t) => {
  t.ok(signatureMatches('s3cret', body, signBody('s3cret', body)));
  t.ok(signatureMatches('s3cret', body, `  ${signBody('s3cret', body).toUpperCase().replace('SHA256=', 'sha256=')}  `), 'hex in any case, surrounding space ignored');
});

t.test('a missing, malformed or wrong signature does not', async (t) => {
  t.notOk(signatureMatches('s3cret', body, undefined), 'missing');
  t.notOk(signatureMatches('s3cret', body, ['a', 'b']), 'repeated header');
  t.notOk(signatureMatches('s3cret', body, signBody('other', body)), 'another secret');
  t.notOk(signatureMatches('s3cret', Buffer.from(' ' + body.toString()), signBody('s3cret', body)), 'another body (re-serialised JSON)');
  t.notOk(signatureMatches('s3cret', body, signBody('s3cret', body).replace('sha256=', 'sha1=')), 'another algorithm');
  t.notOk(signatureMatches('s3cret', body, 'sha256=abcd'), 'too short');
  t.notOk(signatureMatches('s3cret', body, signBody('s3cret', body).slice(7)), 'no sha256= prefix');
});

t.test('a shared secret compares whole, whatever the lengths', async (t) => {
  t.ok(sharedSecretMatches('s3cret', 's3cret'));
  t.notOk(sharedSecretMatches('s3cret', 's3cre'));
  t.notOk(sharedSecretMatches('s3cret', 's3cret '));
  t.notOk(sharedSecretMatches('s3cret', ''));
  t.notOk(sharedSecretMatches('s3cret', undefined));
});
