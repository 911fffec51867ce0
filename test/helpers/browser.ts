import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { missingService } from './services.js';

/** Debian's `chromium` package (`.ci/run` installs it); `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

/** Flags for a quiet, sandbox-free headless run that never reaches the network on its own. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A headless Chromium page with a fresh profile (a temp `--user-data-dir`, removed when the test
 * ends). When the binary is missing: with `REQUIRE_SERVICES=1` the test fails; otherwise it is
 * skipped, loudly, and this resolves null (return early from the test).
 */
export async function browserOrSkip(t: Test, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; context: BrowserContext } | null> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    missingService(t, {
      message: `Chromium is not at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`,
      skipped: 'browser tests SKIPPED. This run has NOT tested the console in a browser.',
      label: 'browser tests',
    });
    return null;
  }
  const profile = await mkdtemp(join(tmpdir(), 'sidecache-chromium-'));
  // launchPersistentContext is how playwright takes a --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 20_000 });
  t.teardown(async () => {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  return { page, context };
}
