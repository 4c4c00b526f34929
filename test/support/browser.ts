// Headless Chromium from Debian's `chromium` package, driven by playwright-core: Playwright's
// own browser download cannot reach its host from here, and the package is what `make install`
// installs. Each launch starts from a fresh profile (Playwright gives it a temporary one).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../lib/paths';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium, or a failure that says how to get it: a missing browser is never a skipped test. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the console's browser test needs Debian's chromium package ` +
        '(make install installs it; by hand: apt-get install -y chromium)',
    );
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * Where screenshots go: .run/console-screenshots by default (ignored), or the folder
 * CONSOLE_SCREENSHOTS names — docs/console to refresh the pictures of docs/console.md.
 */
export function screenshotDir(): string {
  const dir = process.env.CONSOLE_SCREENSHOTS ?? join(REPO_ROOT, '.run', 'console-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`), fullPage });
}
