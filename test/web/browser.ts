/** Debian's chromium driven by playwright-core, headless, with a fresh profile directory. */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (Debian package chromium, listed in scripts/apt-test-packages.txt)`;
}

export async function launchChromium(width = 1400, height = 800): Promise<{ ctx: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'lkst-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page opened on the viewer's URL once it has painted; errors collects the page's uncaught errors. */
export async function paintedViewer(ctx: BrowserContext, url: string, timeout = 60_000): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => {
    const l = (window as unknown as { lkst?: { ready: boolean; painted: boolean } }).lkst;
    return l?.ready && l.painted;
  }, null, { timeout });
  return { page, errors };
}
