import type { FastifyBaseLogger } from 'fastify';
import type { SaverChange } from '../resilience/quota.js';

/** Quota-saver mode, logged once as it turns on (warn) and once as it turns off (info); never a token, only figures. */
export function logSaverChange(log: FastifyBaseLogger, upstream: string, change: SaverChange): void {
  const { last } = change;
  const usage = last?.used != null && last.limit != null ? `${last.used}/${last.limit}` : 'unknown';
  const fields = { upstream, reason: change.reason, used: last?.used ?? null, limit: last?.limit ?? null, nearLimit: last?.nearLimit ?? false };
  if (change.saving) log.warn(fields, `upstream "${upstream}" quota saver on (${change.reason}, usage ${usage}): reads are served from stale entries, refreshes stop`);
  else log.info(fields, `upstream "${upstream}" quota saver off (${change.reason}, usage ${usage})`);
}

/** How many distinct foreign instance origins are remembered (and warned about) at most. */
const FOREIGN_ORIGINS_NOTED = 100;

/** Warns once per (upstream, origin) that an OAuth answer named another Salesforce instance. */
export function foreignInstanceLogger(log: FastifyBaseLogger): (upstream: string, origin: string) => void {
  const seen = new Set<string>();
  return (upstream, origin) => {
    if (seen.has(`${upstream} ${origin}`) || seen.size >= FOREIGN_ORIGINS_NOTED) return;
    seen.add(`${upstream} ${origin}`);
    log.warn(
      { upstream, instanceOrigin: origin },
      `upstream "${upstream}": an OAuth answer named instance_url ${origin}, not the configured target; it was rewritten to the proxy and calls still go to the target (README "Salesforce logins"; logged once per origin)`,
    );
  };
}
