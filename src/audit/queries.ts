/**
 * Audit listing and reports for the admin API: what `src/admin` imports. Input checks live in
 * query-input.ts, the listing and its cursors in listing.ts, the report in report.ts, a
 * session's activity in session-activity.ts.
 */
export * from './query-input.js';
export * from './listing.js';
export * from './report.js';
export * from './session-activity.js';
