import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coerce } from './coerce.js';
import { withDefaults } from './defaults.js';
import { interpolate, type Env } from './interpolate.js';
import { keyPath, schemaProblems } from './problems.js';
import { PresetSchema, type RawPreset, type RawRule } from './schema.js';
import { readYaml } from './yaml-file.js';

/** Reads `<dir>/<name>.yaml` rule presets when first asked for, validating each once. */
export interface Presets {
  /** Preset names found in the folder, sorted. */
  available(): string[];
  /** The preset, `{ rules: [] }` when it is invalid (its problems are reported), undefined when unknown. */
  preset(name: string): RawPreset | undefined;
  rules(name: string): readonly RawRule[] | undefined;
}

/**
 * Presets from `dir` (default: `config/presets` at the repository root); problems are appended to
 * `problems`. Presets are interpolated from the same environment as the file (their ttls read
 * `CACHE_TTL_DEFAULT` and `CACHE_TTL_LONG`).
 */
export function presetLoader(dir: string | undefined, env: Env, problems: string[]): Presets {
  const folder = (): string | undefined => (dir ??= defaultPresetsDir());
  const loaded = new Map<string, RawPreset | undefined>();
  const available = (): string[] => {
    const at = folder();
    if (at === undefined || !existsSync(at)) return [];
    return readdirSync(at).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
  };
  const preset = (name: string): RawPreset | undefined => {
    if (loaded.has(name)) return loaded.get(name);
    const at = folder();
    let result: RawPreset | undefined;
    if (at !== undefined && available().includes(name)) {
      const parsed = readYaml(join(at, `${name}.yaml`), `presets.${name}`);
      const interpolated = 'problem' in parsed ? undefined : interpolate(parsed.value, env);
      const value = interpolated === undefined ? undefined : withDefaults(PresetSchema, coerce(PresetSchema, interpolated.value));
      const found =
        interpolated === undefined
          ? [(parsed as { problem: string }).problem]
          : [
              ...interpolated.problems.map((p) => `${keyPath(['presets', name, ...p.path])}: ${p.message}`),
              ...schemaProblems(PresetSchema, value, ['presets', name]),
            ];
      problems.push(...found);
      result = found.length === 0 ? (value as RawPreset) : { vary: [], rules: [] };
    }
    loaded.set(name, result);
    return result;
  };
  return { available, preset, rules: (name) => preset(name)?.rules };
}

/** Walks up from this module (src/config or dist/src/config) to the folder holding `config/presets`. */
function defaultPresetsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'config', 'presets');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
