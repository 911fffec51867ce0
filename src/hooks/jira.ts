import type { InvalidationTarget } from '../invalidation/invalidator.js';
import { at, describe, isRecord, malformed } from './payload.js';
import type { WriteEquivalent } from './write-equivalent.js';

/** The path of one issue on the Jira upstream, below its prefix; a write to `<ISSUE_PATH>/<key>` is what an issue event stands for. */
export const ISSUE_PATH = '/rest/api/3/issue';

/** Webhook events that change an issue (or what its reads and searches return). */
const ISSUE_EVENT = /^(?:jira:issue_(?:created|updated|deleted)|comment_(?:created|updated|deleted)|worklog_(?:created|updated|deleted)|issuelink_(?:created|deleted))$/;
const ISSUE_KEY = /^[A-Za-z][A-Za-z0-9_]*-[0-9]+$/;
const ISSUE_ID = /^[0-9]{1,19}$/;

/** What a Jira delivery changed, as far as the cache cares. */
export interface JiraChange {
  readonly event: string;
  /** Issue keys (PROJ-1) named by the delivery. */
  readonly keys: readonly string[];
  /** Issue ids (10002) named by the delivery. */
  readonly ids: readonly string[];
  /** False for events sidecache does not act on (project, user, sprint, …): answered 2xx, nothing invalidated. */
  readonly relevant: boolean;
}

/**
 * Reads a Jira Cloud webhook body. Issue and comment events carry `issue` {id, key}; worklog
 * events only `worklog.issueId`; issue-link events only `issueLink.sourceIssueId` and
 * `destinationIssueId`. Throws a 400 naming the field that is missing or malformed.
 */
export function parseJiraDelivery(body: unknown): JiraChange {
  if (!isRecord(body)) throw malformed(`body: must be a JSON object, got ${describe(body)}`);
  const event = body['webhookEvent'];
  if (typeof event !== 'string' || event === '') throw malformed(`webhookEvent: must be a non-empty string, got ${describe(event)}`);
  if (!ISSUE_EVENT.test(event)) return { event, keys: [], ids: [], relevant: false };

  const keys = new Set<string>();
  const ids = new Set<string>();
  const issue = body['issue'];
  if (issue !== undefined) {
    if (!isRecord(issue)) throw malformed(`issue: must be an object, got ${describe(issue)}`);
    optional(issue['key'], 'issue.key', ISSUE_KEY, keys);
    optional(issue['id'], 'issue.id', ISSUE_ID, ids);
  }
  if (event.startsWith('worklog_')) optional(at(body, 'worklog.issueId'), 'worklog.issueId', ISSUE_ID, ids);
  if (event.startsWith('issuelink_')) {
    optional(at(body, 'issueLink.sourceIssueId'), 'issueLink.sourceIssueId', ISSUE_ID, ids);
    optional(at(body, 'issueLink.destinationIssueId'), 'issueLink.destinationIssueId', ISSUE_ID, ids);
  }
  if (keys.size === 0 && ids.size === 0) {
    const where = event.startsWith('worklog_') ? 'worklog.issueId' : event.startsWith('issuelink_') ? 'issueLink.sourceIssueId' : 'issue.key or issue.id';
    throw malformed(`${where}: missing; a ${event} delivery must name its issue`);
  }
  return { event, keys: [...keys], ids: [...ids], relevant: true };
}

/**
 * What an issue change invalidates: what a write of the issue through the proxy would, by key
 * and by id (a cached read may have used either), which with the presets is the issue and
 * every search. When the delivery names no key (worklog and issue-link events carry ids only),
 * reads by key cannot be told apart, so every cached issue read of the upstream goes.
 */
export function jiraTarget(change: JiraChange, equivalent: WriteEquivalent, upstream: string): InvalidationTarget {
  if (!change.relevant) return {};
  const refs = [...change.keys, ...change.ids];
  const tags = [...new Set(refs.flatMap((ref) => equivalent.invalidatedBy('PUT', `${ISSUE_PATH}/${ref}`)))];
  return change.keys.length > 0 ? { tags } : { tags, prefix: { upstream, path: ISSUE_PATH } };
}

function optional(value: unknown, name: string, pattern: RegExp, into: Set<string>): void {
  if (value === undefined || value === null) return;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !pattern.test(text)) throw malformed(`${name}: malformed, got ${describe(value)}`);
  into.add(text);
}
