/**
 * Environment interpolation over a parsed YAML tree. Only string scalars (never keys) are
 * rewritten, so a variable's value can never change the structure of the document.
 *
 *   ${NAME}            value of NAME, or "" when NAME is unset or empty
 *   ${NAME:-default}   value of NAME, or `default` when NAME is unset or empty
 *   $${                a literal "${"
 */

export type PathSegment = string | number;

/** The environment to read: `process.env` or any plain record. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable that was unset (or empty) where it was referenced. */
export interface UnsetVariable {
  readonly path: readonly PathSegment[];
  readonly name: string;
  readonly hasDefault: boolean;
}

/** A malformed reference such as `${1X}` or an unterminated `${`. */
export interface InterpolationProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export interface Interpolated {
  readonly value: unknown;
  readonly unset: readonly UnsetVariable[];
  readonly problems: readonly InterpolationProblem[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([^]*))?$/;

/** Returns a copy of `tree` with every string scalar interpolated from `env`. */
export function interpolate(tree: unknown, env: Env): Interpolated {
  const unset: UnsetVariable[] = [];
  const problems: InterpolationProblem[] = [];

  const visit = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string') {
      const result = interpolateString(node, env);
      if ('error' in result) {
        problems.push({ path, message: result.error });
        return node;
      }
      for (const variable of result.unset) unset.push({ path, ...variable });
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value, [...path, key])]));
    }
    return node;
  };

  return { value: visit(tree, []), unset, problems };
}

/** Interpolates one string; returns the unset variables it used, or an error describing the bad reference. */
export function interpolateString(
  text: string,
  env: Env,
): { value: string; unset: { name: string; hasDefault: boolean }[] } | { error: string } {
  const unset: { name: string; hasDefault: boolean }[] = [];
  let out = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar < 0) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      index = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      index = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) return { error: 'unterminated "${" (write "$${" for a literal "${")' };
    const body = text.slice(dollar + 2, close);
    const match = REFERENCE.exec(body);
    if (!match || body.includes('${')) {
      return { error: `invalid variable reference "\${${body}}" (expected \${NAME} or \${NAME:-default})` };
    }
    const name = match[1] as string;
    const fallback = match[2];
    const value = env[name];
    if (value === undefined || value === '') {
      unset.push({ name, hasDefault: fallback !== undefined });
      out += fallback ?? '';
    } else {
      out += value;
    }
    index = close + 1;
  }
  return { value: out, unset };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
