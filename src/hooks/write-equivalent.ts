import { fillTags, type RuleSet } from '../policy/rules.js';

/**
 * A change made outside sidecache invalidates what the same change made through it would have:
 * the tags named by the `invalidates:` of the upstream's write rule (presets or the operator's
 * own rules), filled the same way the proxy fills them after a successful write. So the tag
 * vocabulary (`sf:{type}:{id}`, `jira:issue:{key}`, …) is written once, in the rules.
 */
export interface WriteEquivalent {
  /** Tags a successful `method path` (upstream-relative, no query) through the proxy would invalidate. */
  invalidatedBy(method: string, path: string): string[];
  /** Tags every cached read of `path` carries whatever its record id (see `recordIndependentTags`). */
  readTags(path: string): readonly string[];
}

export function writeEquivalent(rules: RuleSet): WriteEquivalent {
  return {
    invalidatedBy(method, path) {
      const match = rules.match(method, path, []);
      return match === undefined ? [] : match.rule.invalidates.flatMap((template) => fillTags(template, match.params, []));
    },
    readTags(path) {
      return rules.match('GET', path, [])?.tags ?? [];
    },
  };
}

/**
 * Tags of a record read that do not name the record: read `…/<probe id>` and keep the tags
 * without the probe in them (`sf:Account`, not `sf:Account:<probe>`). Invalidating these drops
 * every cached record of the type without knowing how the rules spell a type-wide tag.
 */
export function recordIndependentTags(equivalent: WriteEquivalent, recordPath: (id: string) => string): string[] {
  const probe = 'sidecacheprobe0000';
  return equivalent.readTags(recordPath(probe)).filter((tag) => !tag.toLowerCase().includes(probe));
}
