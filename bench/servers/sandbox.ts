/**
 * The demo's sandbox Salesforce and Jira (scripts/sandbox.ts) with no added latency, for the
 * change-feed scenario: records and issues whose bodies change when they are edited. Prints
 * {"salesforceUrl", "jiraUrl"} once listening; closes on SIGTERM.
 */
import { startSandbox } from '../../scripts/sandbox.js';

const sandbox = await startSandbox({ salesforceDelayMs: 0, jiraDelayMs: 0 });
process.stdout.write(`${JSON.stringify({ salesforceUrl: sandbox.salesforceUrl, jiraUrl: sandbox.jiraUrl })}\n`);
process.on('SIGTERM', () => void sandbox.close().then(() => process.exit(0)));
