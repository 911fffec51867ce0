/**
 * Edits made in the sandbox's Salesforce and Jira directly, outside sidecache, on control routes
 * of their own, and the events the real services send for them: a Change Data Capture event as
 * a relay posts it to `/hooks/salesforce/cdc`, a Jira webhook to `/hooks/jira`, each signed.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { isObject, jiraError, jiraIssue, parseJson, sfError, sfRecord, type ControlHandler, type Fields, type JiraStore, type SalesforceStore } from './sandbox-apis.js';

/** sidecache's change feeds, as Jira's webhook settings and a CDC relay would point at them. */
export interface SandboxHooks {
  /** sidecache's proxy listener, e.g. http://127.0.0.1:8080. */
  sidecacheUrl: string;
  /** sidecache's JIRA_WEBHOOK_SECRET; absent: Jira edits send no webhook. */
  jiraSecret?: string;
  /** sidecache's SALESFORCE_WEBHOOK_SECRET; absent: Salesforce edits send no change event. */
  salesforceSecret?: string;
}

/** How sidecache answered the event an edit sent; `status` 0 when it could not be reached. */
export interface HookDelivery {
  url: string;
  status: number;
  body: string;
  ms: number;
}

/** An edit made in the sandbox: the record as the fake now serves it, and the delivery of its event (null: none sent). */
export interface SandboxChange {
  record: Fields;
  delivery: HookDelivery | null;
}

/** Where the control routes live on each fake; nothing of the real APIs is under it. */
export const CONTROL_PREFIX = '/__sandbox/';
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
const ISSUE_KEY = /^[A-Za-z][A-Za-z0-9]*-[1-9]\d*$/;
const DELIVERY_TIMEOUT_MS = 5_000;
/** The API version the Salesforce fake's own record URLs name. */
const SF_VERSION = 'v60.0';

/** Signs and POSTs `body` to sidecache; what it answered (status 0 when unreachable). */
async function deliver(url: string, body: string, headers: Record<string, string>): Promise<HookDelivery> {
  const started = performance.now();
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
    return { url, status: res.status, body: await res.text(), ms: performance.now() - started };
  } catch (err) {
    return { url, status: 0, body: err instanceof Error ? err.message : String(err), ms: performance.now() - started };
  }
}

const signature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Edits made in the fakes directly, and the events Salesforce (through a CDC relay) and Jira send for them. */
export function editors(sfStore: SalesforceStore, jiraStore: JiraStore, initial: SandboxHooks | undefined) {
  let replayId = 0;
  let webhookId = 0;
  let hooks = initial;
  const announceTo = (next: SandboxHooks | undefined) => {
    hooks = next;
  };

  const changeRecord = async (type: string, id: string, fields: Fields): Promise<SandboxChange> => {
    const saved = sfStore.get(`${type}/${id}`) ?? { edits: {}, version: 0 };
    sfStore.set(`${type}/${id}`, { edits: { ...saved.edits, ...fields }, version: saved.version + 1 });
    const record = sfRecord(SF_VERSION, type, id, { ...saved.edits, ...fields }, saved.version + 1);
    if (hooks?.salesforceSecret === undefined) return { record, delivery: null };
    // A change event as the Streaming API delivers it and a relay posts it on (README, "Salesforce Change Data Capture").
    const body = JSON.stringify({
      data: {
        schema: 'sandbox',
        payload: {
          ChangeEventHeader: {
            entityName: type,
            recordIds: [id],
            changeType: 'UPDATE',
            changeOrigin: 'com/salesforce/ui',
            changedFields: [...Object.keys(fields), 'LastModifiedDate'],
            commitTimestamp: Date.now(),
            commitUser: '005000000000001AAA',
            transactionKey: randomUUID(),
            sequenceNumber: 1,
          },
          ...fields,
          LastModifiedDate: record['LastModifiedDate'],
        },
        event: { replayId: ++replayId },
      },
      channel: `/data/${type}ChangeEvent`,
    });
    const delivery = await deliver(`${hooks.sidecacheUrl.replace(/\/+$/, '')}/hooks/salesforce/cdc`, body, { 'x-sidecache-signature': signature(hooks.salesforceSecret, body) });
    return { record, delivery };
  };

  const changeIssue = async (key: string, summary: string): Promise<SandboxChange> => {
    const before = jiraIssue(key, jiraStore.get(key)?.summary, jiraStore.get(key)?.version);
    jiraStore.set(key, { summary, version: (jiraStore.get(key)?.version ?? 0) + 1 });
    const record = jiraIssue(key, summary, jiraStore.get(key)?.version);
    if (hooks?.jiraSecret === undefined) return { record, delivery: null };
    // An `jira:issue_updated` delivery as Jira Cloud sends it: signed body, an identifier its retries repeat.
    const body = JSON.stringify({
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_updated',
      issue_event_type_name: 'issue_generic',
      user: { accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Sandbox user' },
      issue: record,
      changelog: { id: String(10_000 + webhookId), items: [{ field: 'summary', fieldtype: 'jira', fromString: (before['fields'] as Fields)['summary'], toString: summary }] },
    });
    const delivery = await deliver(`${hooks.sidecacheUrl.replace(/\/+$/, '')}/hooks/jira`, body, {
      'x-hub-signature': signature(hooks.jiraSecret, body),
      'x-atlassian-webhook-identifier': `sandbox-${process.pid}-${++webhookId}`,
      'user-agent': 'Atlassian Webhook HTTP Client',
    });
    return { record, delivery };
  };

  const salesforceControl: ControlHandler = async ({ method, path, body }) => {
    const r = /^\/sobjects\/(\w+)\/(\w+)$/.exec(path);
    if (r === null || method !== 'PATCH') return sfError(404, 'NOT_FOUND', `sandbox: edit a record with PATCH ${CONTROL_PREFIX}sobjects/<type>/<id>`);
    if (!RECORD_ID.test(r[2]!)) return sfError(400, 'MALFORMED_ID', `sandbox: ${r[2]} is not a 15- or 18-character record id`);
    const fields = parseJson(body);
    if (!isObject(fields) || Object.keys(fields).length === 0) return sfError(400, 'JSON_PARSER_ERROR', 'sandbox: the body must be a JSON object of fields, e.g. {"Name":"Acme"}');
    return { status: 200, body: await changeRecord(r[1]!, r[2]!, fields) };
  };

  const jiraControl: ControlHandler = async ({ method, path, body }) => {
    const r = /^\/issue\/([^/]+)$/.exec(path);
    if (r === null || method !== 'PUT') return jiraError(404, `sandbox: edit an issue with PUT ${CONTROL_PREFIX}issue/<key>`);
    if (!ISSUE_KEY.test(r[1]!)) return jiraError(400, `sandbox: ${r[1]} is not an issue key such as DEMO-1`);
    const input = parseJson(body);
    const summary = isObject(input) && isObject(input['fields']) ? input['fields']['summary'] : undefined;
    if (typeof summary !== 'string') return jiraError(400, '', { summary: 'Expected fields.summary to be a string.' });
    return { status: 200, body: await changeIssue(r[1]!.toUpperCase(), summary) };
  };

  return { changeRecord, changeIssue, announceTo, salesforceControl, jiraControl };
}

