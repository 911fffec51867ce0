import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): unknown => parse(readFileSync(`${ROOT}${path}`, 'utf8'));

interface Service {
  readonly image?: string;
  readonly profiles?: string[];
  readonly volumes?: string[];
  readonly ports?: string[];
  readonly environment?: Record<string, string>;
}
const compose = read('docker-compose.yml') as { services: Record<string, Service>; volumes: Record<string, unknown> };

t.test('the monitoring profile runs Prometheus and Grafana over the shipped files, off by default', async (t) => {
  const { prometheus, grafana, sidecache } = compose.services;
  for (const [name, service] of [['prometheus', prometheus], ['grafana', grafana]] as const) {
    t.same(service?.profiles, ['monitoring'], `${name} only with --profile monitoring`);
    t.match(service?.image, /^[a-z/]+:v?\d+\.\d+\.\d+$/, `${name} image pinned to a version`);
    for (const port of service?.ports ?? []) t.match(port, /^127\.0\.0\.1:/, `${name} published on loopback only`);
    for (const volume of service?.volumes ?? []) {
      const [source] = volume.split(':');
      if (source!.startsWith('./')) t.ok(existsSync(`${ROOT}${source!.slice(2)}`), `${volume}: the mounted file exists`);
      else t.ok(source! in compose.volumes, `${volume}: a declared volume`);
    }
  }
  t.equal(sidecache?.profiles, undefined, 'sidecache itself runs without the profile');
  t.ok(prometheus?.volumes?.includes('./ops/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro'), 'the alert rules sit beside prometheus.yml');
  t.ok(grafana?.volumes?.includes('./ops/grafana/sidecache.json:/var/lib/grafana/dashboards/sidecache.json:ro'));

  const scrape = read('ops/prometheus/prometheus.yml') as { rule_files: string[]; scrape_configs: { static_configs: { targets: string[] }[] }[] };
  t.same(scrape.rule_files, ['alerts.yml']);
  t.same(scrape.scrape_configs[0]?.static_configs[0]?.targets, [`sidecache:${sidecache?.environment?.['ADMIN_PORT']}`], "it scrapes sidecache's admin listener");

  const datasources = read('ops/grafana/provisioning/datasources/prometheus.yml') as { datasources: { type: string; url: string; isDefault: boolean }[] };
  t.match(datasources.datasources, [{ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }], "Grafana's default data source is the profile's Prometheus");
  const dashboards = read('ops/grafana/provisioning/dashboards/sidecache.yml') as { providers: { options: { path: string } }[] };
  t.equal(dashboards.providers[0]?.options.path, '/var/lib/grafana/dashboards', 'the provider reads where the dashboard is mounted');
});
