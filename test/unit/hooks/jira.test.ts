import t from 'tap';
import { SidecacheError } from '../../../src/errors.js';
import { ISSUE_PATH, jiraTarget, parseJiraDelivery } from '../../../src/hooks/jira.js';
import { shippedEquivalent } from './shipped-rules.js';

const jira = shippedEquivalent('jira');

/** The 400 message a body is refused with. */
function refusal(body: unknown): string {
  try {
    parseJiraDelivery(body);
  } catch (err) {
    if (err instanceof SidecacheError && err.status === 400) return err.message;
    throw err;
  }
  throw new Error('the body was accepted');
}

t.test('issue events invalidate the issue by key and by id, and every search', async (t) => {
  for (const event of ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted']) {
    const change = parseJiraDelivery({ webhookEvent: event, timestamp: 1, issue: { id: '10002', key: 'PROJ-7', fields: { summary: 'x' } } });
    t.same(change, { event, keys: ['PROJ-7'], ids: ['10002'], relevant: true });
    t.same(jiraTarget(change, jira, 'jira'), { tags: ['jira:issue:PROJ-7', 'jira:search', 'jira:issue:10002'] }, event);
  }
});

t.test('comment events name their issue the same way', async (t) => {
  for (const event of ['comment_created', 'comment_updated', 'comment_deleted']) {
    const change = parseJiraDelivery({ webhookEvent: event, comment: { id: '1', body: 'hi' }, issue: { id: 10003, key: 'PROJ-8' } });
    t.same(change.keys, ['PROJ-8']);
    t.same(change.ids, ['10003'], 'a numeric id is read as text');
    t.same(jiraTarget(change, jira, 'jira').tags, ['jira:issue:PROJ-8', 'jira:search', 'jira:issue:10003']);
  }
});

t.test('worklog and issue-link events carry ids only: every cached issue read of the upstream goes too', async (t) => {
  const worklog = parseJiraDelivery({ webhookEvent: 'worklog_updated', worklog: { id: '5', issueId: '10004', timeSpent: '1h' } });
  t.same(worklog, { event: 'worklog_updated', keys: [], ids: ['10004'], relevant: true });
  t.same(jiraTarget(worklog, jira, 'jira'), { tags: ['jira:issue:10004', 'jira:search'], prefix: { upstream: 'jira', path: ISSUE_PATH } });

  const link = parseJiraDelivery({ webhookEvent: 'issuelink_created', issueLink: { id: 9, sourceIssueId: 10005, destinationIssueId: 10006 } });
  t.same(link.ids, ['10005', '10006']);
  t.same(jiraTarget(link, jira, 'tracker').prefix, { upstream: 'tracker', path: ISSUE_PATH });
});

t.test('a worklog event that also carries its issue key needs no wider invalidation', async (t) => {
  const change = parseJiraDelivery({ webhookEvent: 'worklog_created', worklog: { issueId: '10004' }, issue: { key: 'PROJ-9' } });
  t.same(jiraTarget(change, jira, 'jira'), { tags: ['jira:issue:PROJ-9', 'jira:search', 'jira:issue:10004'] });
});

t.test('other events are accepted and invalidate nothing (fields, projects, statuses stay cached)', async (t) => {
  for (const event of ['project_updated', 'jira:version_released', 'user_created', 'sprint_started']) {
    const change = parseJiraDelivery({ webhookEvent: event, project: { id: 1 } });
    t.equal(change.relevant, false, event);
    t.same(jiraTarget(change, jira, 'jira'), {});
  }
});

t.test('a malformed delivery is refused, naming what was wrong', async (t) => {
  t.match(refusal([]), /^body: must be a JSON object, got a list/);
  t.match(refusal('x'), /^body: must be a JSON object/);
  t.match(refusal({}), /^webhookEvent: must be a non-empty string, got missing/);
  t.match(refusal({ webhookEvent: 42 }), /^webhookEvent: must be a non-empty string, got 42/);
  t.match(refusal({ webhookEvent: 'jira:issue_updated' }), /^issue\.key or issue\.id: missing/);
  t.match(refusal({ webhookEvent: 'jira:issue_updated', issue: 'PROJ-1' }), /^issue: must be an object/);
  t.match(refusal({ webhookEvent: 'jira:issue_updated', issue: { key: 'not a key' } }), /^issue\.key: malformed, got "not a key"/);
  t.match(refusal({ webhookEvent: 'jira:issue_updated', issue: { key: 'PROJ-1', id: 'ten' } }), /^issue\.id: malformed/);
  t.match(refusal({ webhookEvent: 'worklog_created', worklog: {} }), /^worklog\.issueId: missing/);
  t.match(refusal({ webhookEvent: 'issuelink_deleted', issueLink: { sourceIssueId: 'x' } }), /^issueLink\.sourceIssueId: malformed/);
});
