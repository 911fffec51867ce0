import { fieldAnyCase, parseHttpDate, type ResponseHeaders } from './fields.js';

/**
 * What one upstream response says about the caller's API quota (pure). Salesforce sends
 * `Sforce-Limit-Info: api-usage=18022/100000` on every REST response (the org's calls in the last
 * 24 h, and its daily allowance); Jira Cloud sends `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
 * `X-RateLimit-Reset` (an ISO 8601 time), `X-RateLimit-NearLimit: true` and `Retry-After`.
 */
export interface QuotaReport {
  /** Calls used in the current window; null when not reported. */
  readonly used: number | null;
  /** Calls allowed in the window; null when not reported. */
  readonly limit: number | null;
  /** The upstream itself says the caller is close to its limit (Jira). */
  readonly nearLimit: boolean;
  /** Epoch ms when the window resets (Jira's X-RateLimit-Reset); null when not reported. */
  readonly resetAt: number | null;
}

/** A quota field the upstream sent but that could not be read: named, so it can be counted and logged once. */
export interface QuotaFieldProblem {
  readonly field: string;
}

export interface QuotaReading {
  /** Null when the response carries no quota field at all. */
  readonly report: QuotaReport | null;
  /** Seconds from `Retry-After` (delta-seconds or an HTTP date); null when absent or unreadable. */
  readonly retryAfterSeconds: number | null;
  readonly problems: readonly QuotaFieldProblem[];
}

const NONE: QuotaReading = Object.freeze({ report: null, retryAfterSeconds: null, problems: Object.freeze([]) as readonly QuotaFieldProblem[] });
const API_USAGE = /(?:^|[,;]\s*)api-usage\s*=\s*(\d{1,15})\s*\/\s*(\d{1,15})\s*(?:[,;]|$)/i;
const COUNT = /^\s*(\d{1,15})\s*$/;
/** `2024-06-10T14:00Z`, `2024-06-10T14:00:00.000+02:00`: `Date.parse` alone takes "1" for a year. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Reads the quota fields of one response; malformed fields are reported as problems and otherwise ignored. */
export function readQuotaFields(headers: ResponseHeaders, now: number): QuotaReading {
  const sforce = single(fieldAnyCase(headers, 'sforce-limit-info'));
  const limitField = single(fieldAnyCase(headers, 'x-ratelimit-limit'));
  const remainingField = single(fieldAnyCase(headers, 'x-ratelimit-remaining'));
  const resetField = single(fieldAnyCase(headers, 'x-ratelimit-reset'));
  const nearField = single(fieldAnyCase(headers, 'x-ratelimit-nearlimit'));
  const retryField = single(fieldAnyCase(headers, 'retry-after'));
  if (sforce === undefined && limitField === undefined && remainingField === undefined && nearField === undefined && resetField === undefined) {
    return retryField === undefined ? NONE : { report: null, retryAfterSeconds: retrySeconds(retryField, now), problems: [] };
  }

  const problems: QuotaFieldProblem[] = [];
  let used: number | null = null;
  let limit: number | null = null;
  if (sforce !== undefined) {
    const match = API_USAGE.exec(sforce);
    if (match === null || Number(match[2]) === 0) problems.push({ field: 'sforce-limit-info' });
    else [used, limit] = [Number(match[1]), Number(match[2])];
  }
  const jiraLimit = count(limitField, 'x-ratelimit-limit', problems);
  const remaining = count(remainingField, 'x-ratelimit-remaining', problems);
  if (used === null && jiraLimit !== null && jiraLimit > 0) {
    limit = jiraLimit;
    if (remaining !== null) used = Math.max(0, jiraLimit - Math.min(remaining, jiraLimit));
  }
  let resetAt: number | null = null;
  if (resetField !== undefined) {
    const text = resetField.trim();
    const parsed = ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isFinite(parsed)) resetAt = parsed;
    else problems.push({ field: 'x-ratelimit-reset' });
  }
  let nearLimit = false;
  if (nearField !== undefined) {
    const word = nearField.trim().toLowerCase();
    if (word === 'true' || word === 'false') nearLimit = word === 'true';
    else problems.push({ field: 'x-ratelimit-nearlimit' });
  }
  const retryAfterSeconds = retryField === undefined ? null : retrySeconds(retryField, now);
  return { report: { used, limit, nearLimit, resetAt }, retryAfterSeconds, problems };
}

function retrySeconds(field: string, now: number): number | null {
  const seconds = COUNT.exec(field);
  if (seconds !== null) return Number(seconds[1]);
  const at = parseHttpDate(field.trim(), now);
  return at === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function count(field: string | undefined, name: string, problems: QuotaFieldProblem[]): number | null {
  if (field === undefined) return null;
  const match = COUNT.exec(field);
  if (match === null) {
    problems.push({ field: name });
    return null;
  }
  return Number(match[1]);
}

/** The first value of a field sent more than once (a repeated quota field is a proxy's copy). */
function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}
