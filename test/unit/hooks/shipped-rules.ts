/** The shipped configuration's rules (its presets), as the change feeds read them (not a test file itself). */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config/load.js';
import { writeEquivalent, type WriteEquivalent } from '../../../src/hooks/write-equivalent.js';
import { compileRules } from '../../../src/policy/rules.js';

const shipped = loadConfig({
  path: fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url)),
  env: { SALESFORCE_URL: 'https://sf.example.com', JIRA_URL: 'https://jira.example.com' },
}).config;

/** What a write through the shipped upstream named `name` invalidates. */
export function shippedEquivalent(name: 'salesforce' | 'jira'): WriteEquivalent {
  const upstream = shipped.upstreams.find((u) => u.name === name);
  if (upstream === undefined) throw new Error(`proxy.config.yaml has no upstream "${name}"`);
  return writeEquivalent(compileRules(upstream.rules));
}
