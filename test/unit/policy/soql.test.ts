import t from 'tap';
import { MAX_SOQL_LENGTH, normaliseObjectName, soqlObjects } from '../../../src/policy/soql.js';

t.test('the main FROM object', async (t) => {
  t.same(soqlObjects('SELECT Id FROM Account'), ['Account']);
  t.same(soqlObjects('SELECT Id, Name FROM Contact WHERE LastName = \'Smith\''), ['Contact']);
  t.same(soqlObjects('SELECT Id FROM Invoice__c'), ['Invoice__c']);
  t.same(soqlObjects('SELECT Id FROM ns__Invoice__c'), ['ns__Invoice__c']);
});

t.test('keywords are case-insensitive; the object keeps its spelling', async (t) => {
  t.same(soqlObjects('select id from ACCOUNT'), ['ACCOUNT']);
  t.same(soqlObjects('SeLeCt Id FrOm account wHeRe name != null'), ['account']);
});

t.test('any whitespace separates tokens, newlines and tabs included', async (t) => {
  t.same(soqlObjects('SELECT Id\nFROM Account\nWHERE Name = \'x\''), ['Account']);
  t.same(soqlObjects('  SELECT\tId\r\n,\tName\n\tFROM\n\n\tAccount\tWHERE\tId != null  '), ['Account']);
  t.same(soqlObjects('SELECT Id FROM Account\nWHERE Id IN (SELECT AccountId\nFROM\tOpportunity)'), ['Account', 'Opportunity']);
});

t.test('aliases, with and without AS, are not objects and are stripped from paths', async (t) => {
  t.same(soqlObjects('SELECT a.Id, a.Name FROM Account a'), ['Account']);
  t.same(soqlObjects('SELECT a.Id FROM Account AS a WHERE a.Name = \'x\''), ['Account']);
  t.same(soqlObjects('SELECT a.Owner.Name FROM Account a'), ['Account', 'User']);
  t.same(soqlObjects('SELECT c.Account.Name FROM Contact c ORDER BY c.Account.Name'), ['Contact', 'Account']);
  t.same(soqlObjects('SELECT Id FROM Account a LIMIT 5'), ['Account']);
});

t.test('clause keywords after the object are not taken for an alias', async (t) => {
  for (const tail of [
    'WHERE Name = \'x\'',
    'WITH SECURITY_ENFORCED',
    'WITH USER_MODE',
    'USING SCOPE Mine',
    'ORDER BY Name DESC NULLS LAST',
    'GROUP BY Name',
    'LIMIT 10',
    'OFFSET 5',
    'FOR VIEW',
    'FOR UPDATE',
    'UPDATE TRACKING',
  ]) {
    t.same(soqlObjects(`SELECT Name FROM Account ${tail}`), ['Account'], tail);
  }
});

t.test('ORDER BY / LIMIT / OFFSET / FOR VIEW / WITH SECURITY_ENFORCED tails', async (t) => {
  t.same(
    soqlObjects(
      'SELECT Id, Name FROM Contact WHERE Account.Industry = \'Tech\' WITH SECURITY_ENFORCED ORDER BY Owner.Name ASC NULLS FIRST LIMIT 200 OFFSET 400',
    ),
    ['Contact', 'Account', 'User'],
  );
  t.same(soqlObjects('SELECT Id FROM Account ORDER BY LastModifiedBy.Name LIMIT 1 FOR VIEW'), ['Account', 'User']);
  t.same(soqlObjects('SELECT Id FROM Knowledge__kav WITH DATA CATEGORY Geography__c AT (usa__c, uk__c)'), ['Knowledge__kav']);
});

t.test('GROUP BY with aggregates', async (t) => {
  t.same(soqlObjects('SELECT COUNT() FROM Contact'), ['Contact']);
  t.same(
    soqlObjects('SELECT Account.Name, COUNT(Id) cnt, MAX(CreatedDate) FROM Contact GROUP BY Account.Name HAVING COUNT(Id) > 1'),
    ['Contact', 'Account'],
  );
  t.same(soqlObjects('SELECT COUNT_DISTINCT(Owner.Name) FROM Opportunity GROUP BY ROLLUP(StageName)'), ['Opportunity', 'User']);
  t.same(soqlObjects('SELECT CALENDAR_YEAR(CreatedDate), SUM(Amount) FROM Opportunity GROUP BY CALENDAR_YEAR(CreatedDate)'), ['Opportunity']);
  t.same(soqlObjects('SELECT toLabel(RecordType.Name), FORMAT(Amount) FROM Opportunity'), ['Opportunity', 'RecordType']);
});

t.test('child relationship subqueries map the relationship name to an object', async (t) => {
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM Contacts) FROM Account'), ['Account', 'Contact']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM Opportunities) FROM Account'), ['Account', 'Opportunity']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM Cases) FROM Account'), ['Account', 'Case']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM ActivityHistories) FROM Account'), ['Account', 'ActivityHistory']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM Line_Items__r) FROM Invoice__c'), ['Invoice__c', 'Line_Items__c']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM ns__Item__r) FROM Invoice__c'), ['Invoice__c', 'ns__Item__c']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM OPPORTUNITIES) FROM Account'), ['Account', 'OPPORTUNITY']);
  t.same(
    soqlObjects('SELECT Name, (SELECT LastName FROM Contacts), (SELECT Amount FROM Opportunities WHERE IsClosed = false) FROM Account'),
    ['Account', 'Contact', 'Opportunity'],
  );
});

t.test('child subqueries: fields, aliases and the outer alias prefix', async (t) => {
  t.same(soqlObjects('SELECT Id, (SELECT Id, Owner.Name, Account.Name FROM Cases ORDER BY CreatedDate) FROM Account'), [
    'Account',
    'Case',
    'User',
  ]);
  // ReportsTo really targets Contact: an unmapped standard name passes through as written.
  t.same(soqlObjects('SELECT a.Name, (SELECT c.LastName, c.ReportsTo.Name FROM a.Contacts c) FROM Account a'), [
    'Account',
    'Contact',
    'ReportsTo',
  ]);
});

t.test('nested subqueries at any depth', async (t) => {
  t.same(
    soqlObjects('SELECT Name, (SELECT Name, (SELECT Quantity FROM OpportunityLineItems) FROM Opportunities) FROM Account'),
    ['Account', 'Opportunity', 'OpportunityLineItem'],
  );
  t.same(
    soqlObjects(
      'SELECT Id, (SELECT Id FROM Contacts WHERE Id IN (SELECT ContactId FROM CampaignMember)) FROM Account WHERE Id IN (SELECT AccountId FROM Case)',
    ),
    ['Account', 'Contact', 'CampaignMember', 'Case'],
  );
});

t.test('semi-joins and anti-joins in WHERE', async (t) => {
  t.same(soqlObjects('SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity)'), ['Account', 'Opportunity']);
  t.same(soqlObjects('SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Opportunity WHERE IsClosed = true)'), [
    'Account',
    'Opportunity',
  ]);
  t.same(
    soqlObjects(
      'SELECT Id FROM Contact WHERE (AccountId IN (SELECT Id FROM Account WHERE Owner.IsActive = true)) AND Id NOT IN (SELECT WhoId FROM Task)',
    ),
    ['Contact', 'Account', 'User', 'Task'],
  );
  t.same(soqlObjects('SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Invoice__c WHERE Partner__r.Tier__c = \'Gold\')'), [
    'Account',
    'Invoice__c',
    'Partner__c',
  ]);
});

t.test('parent relationship paths in SELECT, WHERE and ORDER BY', async (t) => {
  t.same(soqlObjects('SELECT Account.Name FROM Contact'), ['Contact', 'Account']);
  t.same(soqlObjects('SELECT Id FROM Contact WHERE Account.Industry = \'Tech\''), ['Contact', 'Account']);
  t.same(soqlObjects('SELECT Id FROM Contact ORDER BY Account.Name'), ['Contact', 'Account']);
  t.same(soqlObjects('SELECT Owner.Name, CreatedBy.Email, LastModifiedBy.Alias FROM Account'), ['Account', 'User']);
  t.same(soqlObjects('SELECT Account.Owner.Name FROM Contact'), ['Contact', 'Account', 'User']);
  t.same(soqlObjects('SELECT Partner__r.Name, Partner__r.Owner.Email FROM Invoice__c'), ['Invoice__c', 'Partner__c', 'User']);
  t.same(soqlObjects('SELECT ns__Partner__R.Name FROM Invoice__c'), ['Invoice__c', 'ns__Partner__C']);
});

t.test('polymorphic What / Who are skipped', async (t) => {
  t.same(soqlObjects('SELECT What.Name, Who.Name FROM Task'), ['Task']);
  t.same(soqlObjects('SELECT Id FROM Event WHERE What.Type = \'Account\' ORDER BY Who.Name'), ['Event']);
});

t.test('TYPEOF names every WHEN type', async (t) => {
  t.same(
    soqlObjects(
      'SELECT Id, TYPEOF What WHEN Account THEN Phone, NumberOfEmployees WHEN Opportunity THEN Amount, CloseDate ELSE Name END FROM Event',
    ),
    ['Event', 'Account', 'Opportunity'],
  );
  t.same(soqlObjects('select typeof owner when user then username when group then name end, Account.Name from Case'), [
    'Case',
    'user',
    'group',
    'Account',
  ]);
});

t.test('string literals are ignored, escapes included', async (t) => {
  t.same(soqlObjects("SELECT Id FROM Account WHERE Name = 'FROM Contact'"), ['Account']);
  t.same(soqlObjects("SELECT Id FROM Account WHERE Name = 'it\\'s (SELECT Id FROM Contact) Owner.Name'"), ['Account']);
  t.same(soqlObjects("SELECT Id FROM Account WHERE Name LIKE '%\\\\' AND Description = 'Case.Subject'"), ['Account']);
  t.same(soqlObjects("SELECT Id FROM Account WHERE Name IN ('a', 'FROM b', ')')"), ['Account']);
});

t.test('number, date and bind literals are not field paths', async (t) => {
  t.same(
    soqlObjects(
      'SELECT Id FROM Opportunity WHERE Amount > 1000.50 AND CloseDate = LAST_N_DAYS:30 AND CreatedDate > 2024-01-01T00:00:00.000+08:00',
    ),
    ['Opportunity'],
  );
  t.same(soqlObjects('SELECT Id FROM Contact WHERE AccountId = :acct.Id'), ['Contact']);
  t.same(soqlObjects("SELECT Name FROM Store__c WHERE DISTANCE(Location__c, GEOLOCATION(37.775, -122.418), 'mi') < 20"), ['Store__c']);
});

t.test('deduplicates case-insensitively, keeping the first spelling', async (t) => {
  t.same(soqlObjects('SELECT Id FROM account WHERE Id IN (SELECT AccountId FROM ACCOUNT) AND Account.Name != null'), ['account']);
  t.same(soqlObjects('SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id IN (SELECT AccountId FROM CONTACT)'), [
    'Account',
    'Contact',
  ]);
  t.same(soqlObjects('SELECT Owner.Name FROM user'), ['user']);
});

t.test('normaliseObjectName lower-cases for comparison', async (t) => {
  t.equal(normaliseObjectName('Account'), 'account');
  t.equal(normaliseObjectName('ns__Foo__C'), 'ns__foo__c');
  t.equal(normaliseObjectName('ACCOUNT'), normaliseObjectName('account'));
});

t.test('query text as it arrives URL-decoded from a q parameter', async (t) => {
  const q = (raw: string): string => new URLSearchParams(raw).get('q') ?? '';
  t.same(soqlObjects(q('q=SELECT+Id,Name+FROM+Account+WHERE+Name+%3D+%27Acme%27')), ['Account']);
  t.same(soqlObjects(q('q=SELECT%20Account.Name%0AFROM%20Contact%0AWHERE%20Name%20%3D%20%27FROM%20Lead%27')), ['Contact', 'Account']);
  t.same(
    soqlObjects(q('q=' + encodeURIComponent('SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id IN (SELECT AccountId FROM Case)'))),
    ['Account', 'Contact', 'Case'],
  );
  const url = new URL('https://x.my.salesforce.com/services/data/v60.0/query?q=SELECT+Id+FROM+Lead+WHERE+Owner.Name+LIKE+%27A%25%27');
  t.same(soqlObjects(url.searchParams.get('q') ?? ''), ['Lead', 'User']);
});

t.test('garbage and non-SOQL input give [] without throwing', async (t) => {
  for (const input of [
    '',
    '   ',
    'hello',
    'SELECT',
    'SELECT Id',
    'SELECT FROM Account',
    'SELECT Id FROM',
    'SELECT Id FROM WHERE',
    'SELECT Id FROMAccount',
    'SELECT Id FROM Account.Contacts',
    'SELECT Id FROM Account WHERE Name = \'unterminated',
    'SELECT Id FROM Account WHERE Name = \'ends in backslash\\',
    'SELECT Id FROM Account WHERE (Id != null',
    'SELECT Id FROM Account WHERE Id != null)',
    'SELECT Id, (SELECT Id) FROM Account',
    'SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM)',
    'FIND {Acme} IN ALL FIELDS RETURNING Account(Name), Contact',
    'DELETE FROM Account',
    'Id FROM Account',
    '((((',
    '\u0000\uffff',
  ]) {
    t.same(soqlObjects(input), [], JSON.stringify(input));
  }
  t.same(soqlObjects(undefined as unknown as string), []);
  t.same(soqlObjects(42 as unknown as string), []);
});

t.test('bounded work: input longer than the limit or nested too deep gives []', async (t) => {
  const base = 'SELECT Id FROM Account WHERE Name = \'';
  const fits = base + 'x'.repeat(MAX_SOQL_LENGTH - base.length - 1) + "'";
  t.equal(MAX_SOQL_LENGTH, 100_000);
  t.equal(fits.length, MAX_SOQL_LENGTH);
  t.same(soqlObjects(fits), ['Account']);
  t.same(soqlObjects(fits + ' '), []);
  const deep = 'SELECT Id FROM Account WHERE ' + '('.repeat(50_000) + 'Id != null' + ')'.repeat(50_000);
  t.same(soqlObjects(deep), []);
  const shallow = 'SELECT Id FROM Account WHERE ' + '('.repeat(10) + 'Owner.Name != null' + ')'.repeat(10);
  t.same(soqlObjects(shallow), ['Account', 'User']);
});
