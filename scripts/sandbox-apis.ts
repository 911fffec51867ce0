/**
 * The sandbox's fake Salesforce and Jira APIs as pure handlers (scripts/sandbox.ts serves them):
 * deterministic bodies, state in the stores passed in.
 */
import { createHash } from 'node:crypto';

/** A request as the pure handlers see it. */
export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

/** What a handler answers; `body` undefined means no body (204, 304). */
export interface SandboxResponse {
  status: number;
  body?: unknown;
}

export type SandboxHandler = (req: SandboxRequest) => SandboxResponse;
/** A control route (`/__sandbox/…`): answered at once, not counted. */
export type ControlHandler = (req: SandboxRequest) => Promise<SandboxResponse>;
export type Fields = Record<string, unknown>;
/** PATCHed fields and a version per `type/id`. */
export type SalesforceStore = Map<string, { edits: Fields; version: number }>;
/** The PUT summary and a version per issue key. */
export type JiraStore = Map<string, { summary: string; version: number }>;

const BASE_TIME = Date.UTC(2024, 0, 15, 9, 30, 0);
const JIRA_ISSUES_PER_PROJECT = 60;
const JIRA_STATUSES = ['To Do', 'In Progress', 'In Review', 'Done'] as const;
const JIRA_PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'] as const;

/** Strong ETag over the exact body bytes. */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Salesforce-style timestamp `BASE_TIME + n minutes`, e.g. `2024-01-15T09:30:00.000+0000`. */
function sfTime(n: number): string {
  return new Date(BASE_TIME + n * 60_000).toISOString().replace('Z', '+0000');
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
export const sfError = (status: number, errorCode: string, message: string): SandboxResponse => ({
  status,
  body: [{ errorCode, message }],
});
export const jiraError = (status: number, message: string, errors: Fields = {}): SandboxResponse => ({
  status,
  body: { errorMessages: message ? [message] : [], errors },
});

/** The record the Salesforce sandbox serves for `type`/`id` before any PATCH. */
export function sfRecord(apiVersion: string, type: string, id: string, edits: Fields = {}, version = 0): Fields {
  return {
    attributes: { type, url: `/services/data/${apiVersion}/sobjects/${type}/${id}` },
    Id: id,
    Name: `${type} ${id.slice(-4)}`,
    OwnerId: '005000000000001AAA',
    Industry: ['Technology', 'Finance', 'Retail', 'Energy'][id.charCodeAt(id.length - 1) % 4],
    CreatedDate: sfTime(0),
    ...edits,
    LastModifiedDate: sfTime(version),
    SystemModstamp: sfTime(version),
  };
}

/** Salesforce-like routes; `store` keeps PATCHed fields per `type/id`. */
export function salesforceHandler(store: SalesforceStore = new Map()): SandboxHandler {
  const read = (v: string, type: string, id: string): Fields => {
    const saved = store.get(`${type}/${id}`);
    return sfRecord(v, type, id, saved?.edits, saved?.version);
  };
  return ({ method, path, query, body }) => {
    const m = /^\/services\/data\/(v\d+\.\d+)(\/.*)$/.exec(path);
    if (!m) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const v = m[1]!;
    const rest = m[2]!;
    let r: RegExpExecArray | null;
    if ((r = /^\/sobjects\/(\w+)\/describe\/?$/.exec(rest)) && method === 'GET') {
      const name = r[1]!;
      const fields = Object.keys(read(v, name, '001000000000000')).filter((f) => f !== 'attributes');
      return { status: 200, body: { name, label: name, queryable: true, updateable: true, fields: fields.map((f) => ({ name: f, label: f, type: f === 'Id' ? 'id' : 'string' })) } };
    }
    if ((r = /^\/sobjects\/(\w+)\/(\w+)$/.exec(rest))) {
      const [type, id] = [r[1]!, r[2]!];
      if (id.startsWith('000')) return sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${id}`);
      if (method === 'GET') return { status: 200, body: read(v, type, id) };
      if (method === 'PATCH') {
        const patch = parseJson(body);
        if (!isObject(patch)) return sfError(400, 'JSON_PARSER_ERROR', 'The request body is not a JSON object');
        const saved = store.get(`${type}/${id}`) ?? { edits: {}, version: 0 };
        store.set(`${type}/${id}`, { edits: { ...saved.edits, ...patch }, version: saved.version + 1 });
        return { status: 204 };
      }
      return sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${method}' not allowed. Allowed are GET,PATCH`);
    }
    if (rest === '/query' && method === 'GET') {
      const q = query.get('q') ?? '';
      if (!q) return sfError(400, 'MALFORMED_QUERY', 'q parameter is required');
      const type = /\bfrom\s+(\w+)/i.exec(q)?.[1] ?? 'Account';
      const limit = Math.min(Number(/\blimit\s+(\d+)/i.exec(q)?.[1] ?? 5), 200);
      const records = Array.from({ length: limit }, (_, i) => read(v, type, `001${String(i + 1).padStart(12, '0')}`));
      return { status: 200, body: { totalSize: records.length, done: true, records } };
    }
    if (rest === '/limits' && method === 'GET') {
      return { status: 200, body: { DailyApiRequests: { Max: 15000, Remaining: 14990 }, DataStorageMB: { Max: 5120, Remaining: 5100 } } };
    }
    return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
  };
}

/** The issue the Jira sandbox serves for `key`, with an optional edited summary. */
export function jiraIssue(key: string, summary?: string, version = 0): Fields {
  const [project = 'DEMO', num = '0'] = key.split('-');
  const n = Number(num);
  return {
    id: String(10000 + n),
    key,
    self: `/rest/api/3/issue/${10000 + n}`,
    fields: {
      summary: summary ?? `${project} task number ${n}`,
      status: { name: JIRA_STATUSES[n % JIRA_STATUSES.length] },
      priority: { name: JIRA_PRIORITIES[n % JIRA_PRIORITIES.length] },
      project: { key: project },
      updated: sfTime(version),
    },
  };
}

/** Jira-like routes; `store` keeps PUT summaries per issue key. */
export function jiraHandler(store: JiraStore = new Map()): SandboxHandler {
  const read = (key: string): Fields => jiraIssue(key, store.get(key)?.summary, store.get(key)?.version);
  const search = (jql: string, maxResults: number, token: string | undefined): SandboxResponse => {
    const project = /\bproject\s*=\s*"?(\w+)"?/i.exec(jql)?.[1]?.toUpperCase() ?? 'DEMO';
    const start = Number(token ?? 0);
    if (!Number.isInteger(start) || start < 0) return jiraError(400, 'Invalid nextPageToken');
    const size = Math.max(1, Math.min(maxResults || 50, 100));
    const end = Math.min(start + size, JIRA_ISSUES_PER_PROJECT);
    const issues = [];
    for (let i = start; i < end; i++) issues.push(read(`${project}-${i + 1}`));
    return { status: 200, body: end < JIRA_ISSUES_PER_PROJECT ? { issues, nextPageToken: String(end) } : { issues } };
  };
  return ({ method, path, query, body }) => {
    let r: RegExpExecArray | null;
    if ((r = /^\/rest\/api\/3\/issue\/([A-Za-z][A-Za-z0-9]*-\d+)$/.exec(path))) {
      const key = r[1]!.toUpperCase();
      if (/-0+$/.test(key)) return jiraError(404, 'Issue does not exist or you do not have permission to see it.');
      if (method === 'GET') return { status: 200, body: read(key) };
      if (method === 'PUT') {
        const input = parseJson(body);
        const summary = isObject(input) && isObject(input['fields']) ? input['fields']['summary'] : undefined;
        if (typeof summary !== 'string') return jiraError(400, '', { summary: 'Expected fields.summary to be a string.' });
        store.set(key, { summary, version: (store.get(key)?.version ?? 0) + 1 });
        return { status: 204 };
      }
      return jiraError(405, `Method ${method} is not allowed.`);
    }
    if (path === '/rest/api/3/search/jql') {
      if (method === 'GET') return search(query.get('jql') ?? '', Number(query.get('maxResults') ?? 50), query.get('nextPageToken') ?? undefined);
      if (method === 'POST') {
        const input = parseJson(body);
        if (!isObject(input)) return jiraError(400, 'Request body must be a JSON object.');
        const token = typeof input['nextPageToken'] === 'string' ? input['nextPageToken'] : undefined;
        return search(String(input['jql'] ?? ''), Number(input['maxResults'] ?? 50), token);
      }
    }
    if (method === 'GET') {
      if (path === '/rest/api/3/field') return { status: 200, body: ['summary', 'status', 'priority', 'project', 'updated'].map((id) => ({ id, key: id, name: id[0]!.toUpperCase() + id.slice(1), custom: false })) };
      if (path === '/rest/api/3/project') return { status: 200, body: ['DEMO', 'OPS'].map((key, i) => ({ id: String(10000 + i), key, name: `${key} project` })) };
      if (path === '/rest/api/3/status') return { status: 200, body: JIRA_STATUSES.map((name, i) => ({ id: String(i + 1), name })) };
      if (path === '/rest/api/3/priority') return { status: 200, body: JIRA_PRIORITIES.map((name, i) => ({ id: String(i + 1), name })) };
    }
    return jiraError(404, 'Not found');
  };
}

