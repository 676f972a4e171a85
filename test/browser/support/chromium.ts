import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core. Never a downloaded browser: CI installs the `chromium` package
 * (.ci/run). Without it, the browser specs fail under CI=true (a missing browser must not pass silently) and are
 * skipped with a loud message elsewhere.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

const present = existsSync(CHROMIUM_PATH);
const inCi = process.env.CI === 'true';

/**
 * `describe` when Chromium is there; otherwise a describe whose one test fails with the reason (CI) or which
 * is skipped after a warning nobody can miss (a developer's machine).
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (present) {
    describe(name, body);
    return;
  }
  const message =
    `Chromium not found at ${CHROMIUM_PATH}: the browser tests need Debian's chromium package ` +
    '(apt-get install chromium) or CHROMIUM_PATH. Playwright must not download a browser.';
  if (inCi) {
    describe(name, () => {
      it('has a browser to run in', () => {
        throw new Error(message);
      });
    });
    return;
  }
  console.warn(`\n${'!'.repeat(100)}\n!! SKIPPED "${name}": ${message}\n${'!'.repeat(100)}\n`);
  describe.skip(name, body);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collects what a page logs as an error and every request it makes to another origin (there must be none). */
export function watchPage(page: Page, origin: string): { errors: string[]; foreign: string[] } {
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A 4xx answer is logged by Chromium as "Failed to load resource"; the app expects some (the role probe).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${message.text()}`);
    }
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
  });
  return { errors, foreign };
}
