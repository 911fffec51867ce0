import { Ajv } from 'ajv';
import { bodySchema, invalidationTarget, type InvalidatableUpstream } from '../invalidation/request.js';
import type { InvalidationTarget } from '../invalidation/invalidator.js';
import { malformed } from './payload.js';

// The admin route's own schema and checks: the two endpoints accept exactly the same bodies.
// No type coercion: `"all": "true"` is a mistake to refuse, not a `true` to act on.
const validate = new Ajv({ allErrors: true, coerceTypes: false }).compile(bodySchema);

/**
 * `POST /hooks/invalidate` takes the body of `POST /admin/invalidate` ({upstream?, key?,
 * prefix?, tags?, all?}). Throws a 400 naming every violation, or the admin checks' own error
 * (400 for an unknown upstream, 422 for a prefix nothing can be cached under).
 */
export function genericTarget(body: unknown, upstreams: readonly InvalidatableUpstream[]): InvalidationTarget {
  if (!validate(body)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath === '' ? 'body' : e.instancePath.slice(1).replace(/\//g, '.')} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`);
    throw malformed(problems.join('; '));
  }
  return invalidationTarget(body as Parameters<typeof invalidationTarget>[0], upstreams);
}
