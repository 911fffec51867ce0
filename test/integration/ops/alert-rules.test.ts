import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { prometheusToolOrSkip } from '../../helpers/prometheus.js';

const RULES_DIR = fileURLToPath(new URL('../../../ops/prometheus/', import.meta.url));

t.test('ops/prometheus/alerts.yml is valid and each rule fires on the series meant to trigger it', async (t) => {
  const promtool = prometheusToolOrSkip(t, 'promtool');
  if (promtool === null) return;
  const check = spawnSync(promtool, ['check', 'rules', 'alerts.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
  t.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
  t.match(check.stdout, /SUCCESS: 7 rules found/);
  // alerts.test.yml feeds series over and under each threshold (pool 80 %, hit ratio 70 %, audit
  // queue growing and spooling, a tier down 5 minutes, a breaker open, quota 90 %) and names the
  // alerts, labels and annotations expected at each time.
  const unit = spawnSync(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
  t.equal(unit.status, 0, `promtool test rules: ${unit.stdout}${unit.stderr}`);
  t.match(unit.stdout, /SUCCESS/);
  // The Prometheus config docker-compose.yml's monitoring profile mounts, with its rule file.
  const config = spawnSync(promtool, ['check', 'config', 'prometheus.yml'], { cwd: RULES_DIR, encoding: 'utf8' });
  t.equal(config.status, 0, `promtool check config: ${config.stdout}${config.stderr}`);
  t.match(config.stdout, /SUCCESS: 7 rules found/);
});

t.test('every alert rule has a summary and a runbook line', async (t) => {
  const doc = parse(readFileSync(`${RULES_DIR}alerts.yml`, 'utf8')) as { groups: { rules: { alert: string; annotations?: Record<string, string> }[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);
  t.same(
    rules.map((r) => r.alert).sort(),
    [
      'SidecacheAuditQueueGrowing',
      'SidecacheAuditSpooling',
      'SidecacheDatabasePoolBusy',
      'SidecacheHitRatioLow',
      'SidecacheTierDown',
      'SidecacheUpstreamBreakerOpen',
      'SidecacheUpstreamQuotaHigh',
    ],
  );
  for (const rule of rules) {
    t.ok((rule.annotations?.['summary'] ?? '').length > 10, `${rule.alert} has a summary`);
    t.ok((rule.annotations?.['runbook'] ?? '').length > 20, `${rule.alert} has a runbook line`);
  }
});
