import t from 'tap';
import { earlyHintsFrom, splitLinkValues } from '../../../src/proxy/early-hints.js';

t.test('RFC 8288 §3: a Link field splits at the commas between link-values only', async (t) => {
  t.same(splitLinkValues('</a.css>; rel=preload; as=style'), ['</a.css>; rel=preload; as=style']);
  t.same(splitLinkValues('</a.css>; rel=preload, </b,c.js>; rel=preload; title="x, y"'), ['</a.css>; rel=preload', '</b,c.js>; rel=preload; title="x, y"']);
  t.same(splitLinkValues(' , </a>; rel=preconnect ,'), ['</a>; rel=preconnect']);
  t.same(splitLinkValues('</a>; title="q\\"," , </b>'), ['</a>; title="q\\","', '</b>']);
});

t.test('RFC 8297: a 103 becomes Node early hints, its Link values one by one', async (t) => {
  t.same(earlyHintsFrom(103, { link: '</a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script' }), {
    link: ['</a.css>; rel=preload; as=style', '</b.js>; rel=preload; as=script'],
  });
  t.same(earlyHintsFrom(103, { link: ['</a.css>; rel=preload', '<https://cdn.example>; rel=preconnect'], 'x-extra': ['1', '2'] }), {
    link: ['</a.css>; rel=preload', '<https://cdn.example>; rel=preconnect'],
    'x-extra': '1, 2',
  });
});

t.test('hop-by-hop fields stay behind and Link values Node would refuse are dropped', async (t) => {
  t.same(
    earlyHintsFrom(103, { link: '</a.css>; rel=preload, </b>; title="two words"', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'x-kept': 'yes' }),
    { link: ['</a.css>; rel=preload'], 'x-kept': 'yes' },
  );
  t.equal(earlyHintsFrom(103, { link: 'not a link' }), null, 'no Link value left: nothing to send');
  t.equal(earlyHintsFrom(103, { 'x-only': '1' }), null);
});

t.test('RFC 9110 §15.2: other interim responses are not relayed', async (t) => {
  for (const status of [100, 101, 102, 199]) t.equal(earlyHintsFrom(status, { link: '</a.css>; rel=preload' }), null, String(status));
});
