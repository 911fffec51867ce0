/**
 * YAML file + environment -> validated, normalised, deep-frozen `Config`.
 * Steps: read and parse YAML, interpolate `${VAR}`, coerce scalars, fill in the schema's defaults,
 * validate against the schema (all violations), semantic checks and unit conversion
 * (normalise.ts). Any problem throws one `ConfigError` listing all.
 */
import { resolve } from 'node:path';
import { coerce } from './coerce.js';
import { deepFreeze } from './deep-freeze.js';
import { withDefaults } from './defaults.js';
import { interpolate, type Env, type UnsetVariable } from './interpolate.js';
import { normalise } from './normalise.js';
import { presetLoader } from './presets.js';
import { keyPath, schemaProblems } from './problems.js';
import { ConfigSchema } from './schema.js';
import type { Config } from './types.js';
import { readYaml } from './yaml-file.js';

export interface LoadOptions {
  readonly path: string;
  readonly env: Env;
  /** Folder of `<name>.yaml` rule presets; default: `config/presets` at the repository root. */
  readonly presetsDir?: string;
}

export interface LoadResult {
  readonly config: Config;
  readonly warnings: string[];
}

/** A user mistake in the config file: one line per problem (the message lists the first MAX_LISTED_PROBLEMS), no stack trace needed. */
export class ConfigError extends Error {
  readonly path: string;
  readonly problems: string[];

  constructor(path: string, problems: string[]) {
    super(formatProblems(path, problems));
    this.name = 'ConfigError';
    this.path = path;
    this.problems = problems;
  }
}

/** `invalid config <path>:` followed by one indented line per problem, for stderr. */
export function formatConfigError(err: ConfigError): string {
  return formatProblems(err.path, err.problems);
}

/** Loads and validates the config file; throws `ConfigError` listing every problem found. */
export function loadConfig(options: LoadOptions): LoadResult {
  const file = resolve(options.path);
  const parsed = readYaml(file, '(file)');
  if ('problem' in parsed) throw new ConfigError(file, [parsed.problem]);
  if (parsed.value === null || parsed.value === undefined) {
    throw new ConfigError(file, ['(root): the file is empty; expected a mapping with an "upstreams" list']);
  }

  const interpolated = interpolate(parsed.value, options.env);
  // Defaults fill only what the file leaves out, so the schema still reports every value it got wrong.
  const filled = withDefaults(ConfigSchema, coerce(ConfigSchema, interpolated.value));
  const problems = interpolated.problems.map((p) => `${keyPath(p.path)}: ${p.message}`);
  const reported = interpolated.problems.map((p) => `${keyPath(p.path)}: `);
  problems.push(...schemaProblems(ConfigSchema, filled).filter((line) => !reported.some((at) => line.startsWith(at))));
  const warnings: string[] = [];
  const config = normalise(filled as Record<string, unknown>, {
    problems,
    warnings,
    unset: interpolated.unset,
    presets: presetLoader(options.presetsDir, options.env, problems),
  });
  if (problems.length > 0 || config === undefined) {
    throw new ConfigError(file, [...new Set(problems)].map((line) => withTtlVariables(withUnsetHint(line, interpolated.unset), options.env)));
  }
  return { config: deepFreeze(config), warnings };
}

/**
 * A preset ttl problem names the ttl variables the presets read, with their values:
 * `presets.salesforce.rules[2].ttl: must be a duration … (from CACHE_TTL_DEFAULT="soon")`.
 */
function withTtlVariables(line: string, env: Env): string {
  const names = ['CACHE_TTL_DEFAULT', 'CACHE_TTL_LONG'].filter((name) => env[name] !== undefined && env[name] !== '');
  if (names.length === 0 || !/^presets\.[a-z0-9_-]+\.rules\[\d+\]\.ttl: /.test(line)) return line;
  return `${line} (from ${names.map((name) => `${name}=${JSON.stringify(env[name])}`).join(', ')})`;
}

/** Appends `(NAME is not set)` to a problem about a value that used an unset variable. */
function withUnsetHint(line: string, unset: readonly UnsetVariable[]): string {
  const names = unset.filter((u) => !u.hasDefault && line.startsWith(`${keyPath(u.path)}: `)).map((u) => u.name);
  if (names.length === 0) return line;
  return `${line} (${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not set)`;
}

/**
 * Problem lines printed at most: one mistake repeated through YAML anchors or merge keys (`<<: *x`
 * into 50 upstreams) can yield 100 000 lines, and the first ones say what is wrong.
 */
export const MAX_LISTED_PROBLEMS = 50;

function formatProblems(path: string, problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p}`);
  const more = problems.length - listed.length;
  if (more > 0) listed.push(`  … and ${more} more problem${more === 1 ? '' : 's'} (${problems.length} in all)`);
  return [`invalid config ${path}:`, ...listed].join('\n');
}
