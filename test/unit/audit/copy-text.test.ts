import t from 'tap';
import { copyText } from '../../../src/audit/copy-text.js';

t.test('copyText escapes exactly what COPY text format needs', async (t) => {
  t.equal(copyText(null), '\\N', 'null');
  t.equal(copyText(''), '', 'an empty string is not null');
  t.equal(copyText('plain /path?x=1&y=2'), 'plain /path?x=1&y=2', 'nothing to escape: the same string');
  t.equal(copyText('a\tb'), 'a\\tb');
  t.equal(copyText('a\nb\r\nc'), 'a\\nb\\r\\nc');
  t.equal(copyText('C:\\dir\\file'), 'C:\\\\dir\\\\file');
  t.equal(copyText('\\N'), '\\\\N', 'the text \\N stays text, not null');
  t.equal(copyText('\\.'), '\\\\.', 'an end-of-data marker cannot be forged');
  t.equal(copyText('ünïcødé 日本 🚀'), 'ünïcødé 日本 🚀', 'non-ASCII untouched (sent as UTF-8)');
  t.equal(copyText('\\\t\n\r'), '\\\\\\t\\n\\r');
});
