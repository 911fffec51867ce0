/** A rule path pattern compiled once at boot: literal segments, `:name` params and a final `*`. */
export interface PathPattern {
  readonly source: string;
  readonly paramNames: readonly string[];
  match(path: string): Record<string, string> | null;
  /** Same as `match`, on a path already split into its segments (without the leading ''). */
  matchSegments(actual: readonly string[]): Record<string, string> | null;
}

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string };

export function compilePathPattern(source: string): PathPattern {
  const parts = source.split('/').slice(1);
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  const segments: Segment[] = parts.map((part) =>
    part.startsWith(':') ? { kind: 'param', name: part.slice(1) } : { kind: 'literal', value: part },
  );
  const paramNames = segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));

  return {
    source,
    paramNames,
    match(path: string): Record<string, string> | null {
      return this.matchSegments(splitPath(path));
    },
    matchSegments(actual: readonly string[]): Record<string, string> | null {
      if (rest ? actual.length < segments.length : actual.length !== segments.length) return null;
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i]!;
        const value = actual[i]!;
        if (segment.kind === 'literal') {
          if (segment.value !== value) return null;
        } else {
          if (value === '') return null;
          params[segment.name] = safeDecode(value);
        }
      }
      return params;
    },
  };
}

/** Path segments after the leading "/". */
export function splitPath(path: string): string[] {
  return path.split('/').slice(1);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
