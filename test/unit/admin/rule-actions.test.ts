import t from 'tap';
import { ruleActionMatcher } from '../../../src/admin/rule-actions.js';

t.test('an action maps back to the rule whose template produced it', async (t) => {
  const match = ruleActionMatcher([
    { name: 'sf.query', action: null },
    { name: 'sf.record', action: 'salesforce.{type}.read' },
    { name: 'sf.any', action: 'salesforce.{type}.{op}' },
    { name: 'dots', action: 'a.b' },
  ]);
  t.equal(match('sf.query'), 'sf.query', 'default action: the rule name');
  t.equal(match('salesforce.Account.read'), 'sf.record');
  t.equal(match('salesforce.Contact.write'), 'sf.any', 'the first rule that could produce it wins');
  t.equal(match('a.b'), 'dots');
  t.equal(match('axb'), undefined, 'template text is literal, not a pattern');
  t.equal(match('salesforce..read'), undefined, 'a placeholder stands for at least one character');
  t.equal(match('refused'), undefined);
});
