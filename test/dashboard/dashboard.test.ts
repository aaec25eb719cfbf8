import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readRecordedEvents } from '../../internal/replay/recorded-events.js';
import { buildDashboard, getJson, RECORDED_DIR, startPipeline, waitFor } from './harness.js';

/** Debian's Chromium (`apt-get install chromium`, done by .ci/run): no browser download. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
// Outside CI a missing browser or data set skips, visibly; in CI it must fail, not skip.
const missing = [
  existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium)`,
  existsSync(RECORDED_DIR) ? undefined : `no recorded events at ${RECORDED_DIR}`,
].filter((m) => m !== undefined);
if (missing.length > 0 && !process.env.CI) {
  process.stderr.write(`dashboard browser test skipped: ${missing.join('; ')}\n`);
}

interface Stats {
  total: number;
  by_domain: Record<string, number>;
}

async function launch(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'wikistream-chromium-'));
  onTestFinished(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  onTestFinished(() => context.close());
  return context;
}

/** Every console error, uncaught exception and failed request of the page, for one final check. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  return problems;
}

async function shownNumber(page: Page, selector: string): Promise<number | undefined> {
  const value = await page.locator(selector).getAttribute('data-value');
  return value ? Number(value) : undefined;
}

/**
 * What the page shows, read in one go (the page cannot redraw in between). A string, because this
 * code runs in the browser and the tests are typechecked without the DOM library.
 */
function shownState(page: Page): Promise<{ total: number; topDomain: string | null; topCount: number }> {
  return page.evaluate(`(() => {
    const row = document.querySelector('#top-domains tbody tr');
    return {
      total: Number(document.getElementById('total').dataset.value),
      topDomain: row?.querySelector('th .name')?.textContent ?? null,
      topCount: Number(row?.querySelector('td')?.getAttribute('data-value')),
    };
  })()`);
}

/** By count descending, then name: the order `/stats` and the page both use. */
function topOf(map: Record<string, number>): string | undefined {
  return Object.entries(map).sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1))[0]?.[0];
}

describe('dashboard in a real browser', () => {
  it.skipIf(missing.length > 0 && !process.env.CI)(
    'shows what /stats says, updates live, logs no errors, fits a phone',
    async () => {
      const events = readRecordedEvents([RECORDED_DIR]);
      // meta.dt = time of sending, as on the live stream: "last event" and "behind by" look real.
      const { baseUrl, replay } = await startPipeline(
        { events, ratePerSec: 120, retime: true, heartbeatMs: 500 },
        { webRoot: buildDashboard() },
      );
      const context = await launch();
      const page = await context.newPage();
      const problems = watchProblems(page);
      // Registered after the browser's close, so it runs before it (finish hooks run last-first).
      onTestFinished(async ({ task }) => {
        if (task.result?.state !== 'fail') return;
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard-failure.png'), fullPage: true });
      });
      await page.goto(`${baseUrl}/`);
      await expect(page.title()).resolves.toContain('wikistream');

      // 1. Events flow; then the replay holds back, and once the page has caught up with /stats
      //    (same total, read page first then /stats) both must show the same top domain.
      await waitFor(
        'some events shown',
        async () => ((await shownNumber(page, '#total')) ?? 0) >= 200 || undefined,
      );
      replay.stall(true);
      const settled = await waitFor('the page to show the same total as /stats', async () => {
        const shown = await shownState(page);
        const stats = await getJson<Stats>(`${baseUrl}/stats`);
        return shown.total === stats.total ? { stats, shown } : undefined;
      });
      expect(settled.stats.total).toBeGreaterThanOrEqual(200);
      expect(settled.shown.topDomain).toBe(topOf(settled.stats.by_domain));
      expect(settled.shown.topCount).toBe(settled.stats.by_domain[settled.shown.topDomain as string]);

      // 2. New events arrive: the numbers move without a reload.
      replay.stall(false);
      const before = settled.stats.total;
      const after = await waitFor('the shown total to grow', async () => {
        const total = await shownNumber(page, '#total');
        return total !== undefined && total > before ? total : undefined;
      });
      expect(after).toBeGreaterThan(before);
      const rate = await waitFor('a non-zero rate', async () => {
        const shown = await shownNumber(page, '#rate');
        return shown !== undefined && shown > 0 ? shown : undefined;
      });
      expect(rate).toBeGreaterThan(0);
      const line = await page.locator('#rate-line').getAttribute('points');
      expect(line?.split(' ').length).toBeGreaterThanOrEqual(2);
      const lag = await shownNumber(page, '#lag');
      expect(lag).toBeLessThan(60_000); // retimed events: the pipeline is seconds behind at most

      // 3. Charts have accessible names.
      await expect(page.getByRole('table', { name: 'Top domains' }).count()).resolves.toBe(1);
      await expect(page.getByRole('table', { name: 'Top users' }).count()).resolves.toBe(1);
      await expect(page.getByRole('table', { name: 'Edit types' }).count()).resolves.toBe(1);
      await expect(
        page.getByRole('img', { name: /^Events per second over the last 5 minutes: now/ }).count(),
      ).resolves.toBe(1);
      await expect(
        page.getByRole('img', { name: /^Bots [\d,]+ \(\d+%\), humans [\d,]+/ }).count(),
      ).resolves.toBe(1);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      // 4. Phone width: one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

      expect(problems).toEqual([]);
      await page.close();
    },
  );
});
