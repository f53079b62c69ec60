// A real browser for the dashboard tests and benchmark: Debian's Chromium driven by playwright-core. Tests never
// download a browser: without /usr/bin/chromium they skip and say why (.ci/run installs it via scripts/install-deps).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.DISCBRIDGE_CHROMIUM ?? '/usr/bin/chromium';

/** Why a browser cannot run here, or undefined when it can. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (Debian's chromium package; scripts/install-deps installs it)`;
  return undefined;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of the page: a test expects none. */
  errors: string[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, no sandbox (CI runs as root) and no background traffic. */
export async function launchBrowser(viewport = { width: 1440, height: 1000 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'discbridge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    deviceScaleFactor: 1,
    colorScheme: 'dark',
    locale: 'en-GB',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`${error.name}: ${error.message}`));
  page.on('console', (message) => {
    // A refused request (the hub's 409 for a busy drive, the refused socket while the hub is down) is logged by
    // Chromium as a console error of its own; those are expected, errors of the page's code are not.
    if (message.type() === 'error' && !/Failed to load resource|WebSocket connection to .* failed/.test(message.text())) errors.push(message.text());
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
