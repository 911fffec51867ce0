import type { Test } from 'tap';

/** Set by `.ci/run`: a service a test needs that does not answer is a failure, not a skip. */
export const REQUIRE_SERVICES = process.env['REQUIRE_SERVICES'] === '1';

const warned = new Set<string>();

/**
 * A service or tool a test needs is missing: with REQUIRE_SERVICES=1 the test fails; otherwise
 * it is skipped, loudly (once per process on stderr, and in the test's output), with `skipped`
 * saying what this run has not tested.
 */
export function missingService(t: Test, what: { readonly message: string; readonly skipped: string; readonly label: string }): void {
  if (REQUIRE_SERVICES) {
    t.fail(`${what.message} and REQUIRE_SERVICES=1`);
    return;
  }
  const notice = `!!! ${what.message}: ${what.skipped} Set REQUIRE_SERVICES=1 to make this a failure.`;
  if (!warned.has(notice)) console.warn(notice);
  warned.add(notice);
  t.comment(notice);
  t.pass(what.label, { skip: what.message });
}
