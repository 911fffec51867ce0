import type { FastifyError, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { AuditQueryError } from '../audit/queries.js';
import { retryAfterHeader } from '../http/fields.js';
import { SidecacheError as AdminError } from '../errors.js';

/** Admin errors come from the one catalogue in src/errors.ts. */
export { SidecacheError as AdminError } from '../errors.js';

/** The JSON schema of every admin error body (for route `response` schemas). */
export const adminErrorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } },
  required: ['error', 'message', 'requestId'],
} as const;

/** Fastify error handler: schema violations and bad inputs become 400s that name the parameter. */
export function adminErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = toAdminError(err, request);
  if (error.code === 'internal_error') request.log.error({ reqId: request.id, err }, 'admin request failed');
  return sendAdminError(reply, request, error);
}

export function sendAdminError(reply: FastifyReply, request: FastifyRequest, error: AdminError): FastifyReply {
  if (error.retryAfterMs !== null) reply.header('retry-after', retryAfterHeader(error.retryAfterMs));
  return reply
    .code(error.status)
    .header('x-request-id', request.id)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: error.code, message: error.message, requestId: request.id });
}

function toAdminError(err: FastifyError, request: FastifyRequest): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof AuditQueryError) return new AdminError('invalid_request', err.message);
  if (Array.isArray(err.validation) && err.validation.length > 0) {
    return new AdminError('invalid_request', validationMessage(err.validation, schemaPart(request, err.validationContext)));
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new AdminError('request_body_too_large', `request body is larger than the admin listener accepts (${request.routeOptions.bodyLimit} bytes)`);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return new AdminError('invalid_request', err.message);
  return new AdminError('internal_error', undefined, { cause: err });
}

/** What Ajv reports about one violation (the fields Fastify passes on). */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

interface ObjectSchema {
  description?: string;
  properties?: Record<string, ObjectSchema>;
  items?: ObjectSchema;
  additionalProperties?: boolean | ObjectSchema;
}

/**
 * `limit: expected an integer from 1 to 1000; foo: unknown parameter (allowed: …)`. One clause per
 * offending parameter, in Ajv's order; the expectation is the property's schema `description`.
 * Nested body fields are named by path (`requests[3].method`), with the nearest description.
 */
export function validationMessage(issues: readonly ValidationIssue[], schema: ObjectSchema | undefined): string {
  const clauses = new Map<string, string>();
  for (const issue of issues) {
    const { param, expected } = describeIssue(issue, schema);
    if (!clauses.has(param)) clauses.set(param, `${param}: ${expected}`);
  }
  return [...clauses.values()].join('; ');
}

function describeIssue(issue: ValidationIssue, schema: ObjectSchema | undefined): { param: string; expected: string } {
  // instancePath is a JSON pointer: '/limit' names a parameter, '/requests/3/method' a nested field.
  const segments = issue.instancePath === '' ? [] : issue.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = schemasAlong(schema, segments);
  const parent = at[at.length - 1];
  if (issue.keyword === 'additionalProperties') {
    const name = String(issue.params['additionalProperty']);
    const allowed = Object.keys(parent?.properties ?? {});
    return { param: fieldName([...segments, name]), expected: allowed.length === 0 ? 'unknown parameter' : `unknown parameter (allowed: ${allowed.join(', ')})` };
  }
  if (issue.keyword === 'required') {
    const name = String(issue.params['missingProperty']);
    return { param: fieldName([...segments, name]), expected: `is required (${parent?.properties?.[name]?.description ?? 'missing'})` };
  }
  if (segments.length === 0) return { param: 'request', expected: issue.message ?? 'is invalid' };
  const described = [...at].reverse().find((s, i) => i < segments.length && s?.description !== undefined);
  return { param: fieldName(segments), expected: described?.description ?? issue.message ?? 'is invalid' };
}

/** The schema at each step of the path (index 0: the root; undefined past what the schema says). */
function schemasAlong(root: ObjectSchema | undefined, segments: readonly string[]): Array<ObjectSchema | undefined> {
  const out = [root];
  let current = root;
  for (const segment of segments) {
    const additional = current?.additionalProperties;
    current = current?.properties?.[segment] ?? current?.items ?? (typeof additional === 'object' ? additional : undefined);
    out.push(current);
  }
  return out;
}

/** ['requests', '3', 'method'] → `requests[3].method`; a single segment stays as it is. */
function fieldName(segments: readonly string[]): string {
  let name = segments[0] ?? 'request';
  for (const segment of segments.slice(1)) name += /^[0-9]+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  return name;
}

function schemaPart(request: FastifyRequest, context: string | undefined): ObjectSchema | undefined {
  const schema = request.routeOptions.schema as FastifySchema | undefined;
  if (schema === undefined) return undefined;
  const part = context === 'querystring' ? schema.querystring : context === 'params' ? schema.params : context === 'body' ? schema.body : context === 'headers' ? schema.headers : undefined;
  return part as ObjectSchema | undefined;
}
