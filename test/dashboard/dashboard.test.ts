import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deriveEvent, readRecordedEvents } from '../../internal/replay/recorded-events.js';
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
  by_user: Record<string, number>;
}

/** A user name holding a right-to-left override (U+202E): it must not reorder text around it. */
const BIDI_USER = '\u202Eevil-bot';

/** The recorded events, with one in six by BIDI_USER (fresh ids): it leads the top users. */
function eventsWithBidiUser(): string[] {
  const events: string[] = [];
  readRecordedEvents([RECORDED_DIR]).forEach((line, i) => {
    events.push(line);
    if (i % 5 === 4) {
      const event = JSON.parse(deriveEvent(line, 1)) as { user?: string };
      event.user = BIDI_USER;
      events.push(JSON.stringify(event));
    }
  });
  return events;
}

/** Requests the page made to `path` exactly (query aside), in order. */
function requestsTo(requests: readonly string[], path: string): string[] {
  return requests.filter((url) => new URL(url).pathname === path);
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
  page.on('requestfailed', (request) => {
    const error = request.failure()?.errorText;
    // A stream the page closes itself (the view changed, or the page went away) ends as aborted.
    if (error === 'net::ERR_ABORTED' && new URL(request.url()).pathname === '/stats/stream') return;
    problems.push(`request failed: ${request.url()} (${error})`);
  });
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
      const events = eventsWithBidiUser();
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
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
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
      // ...over the stream: it is open, and while it is, the page never polled /stats.
      await expect(page.locator('body').getAttribute('data-transport')).resolves.toBe('stream');
      expect(requestsTo(requests, '/stats/stream')).toEqual([`${baseUrl}/stats/stream?limit=10`]);
      expect(requestsTo(requests, '/stats')).toEqual([]);
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

      // 4. Names are isolated: the bidi-override user leads the top users, inside a <bdi>.
      const bidi = await page.evaluate<{ text: string; tag: string; unicodeBidi: string } | null>(`(() => {
        const name = document.querySelector('#top-users tbody tr th .name bdi');
        return name && { text: name.textContent, tag: name.tagName, unicodeBidi: getComputedStyle(name).unicodeBidi };
      })()`);
      expect(bidi).toEqual({ text: BIDI_USER, tag: 'BDI', unicodeBidi: 'isolate' });
      const unisolated = await page.evaluate<number>(
        `[...document.querySelectorAll('.name')].filter((n) => !n.querySelector(':scope > bdi')).length`,
      );
      expect(unisolated).toBe(0);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      // 5. The window switch: the URL says 5m, the stream is reopened for it, and once the replay
      //    holds back the page shows what /stats?window=5m says.
      replay.stall(true);
      await page.getByRole('link', { name: '5 min' }).click();
      await expect.poll(() => page.evaluate<string>('location.hash')).toBe('#/?window=5m');
      await expect(page.getByRole('link', { name: '5 min' }).getAttribute('aria-current')).resolves.toBe(
        'true',
      );
      await expect(page.locator('#h-rate').textContent()).resolves.toBe('Events per second, last 5 minutes');
      const windowed = await waitFor('the page to show the 5-minute total', async () => {
        const stats = await getJson<Stats>(`${baseUrl}/stats?window=5m`);
        return (await shownNumber(page, '#total')) === stats.total ? stats : undefined;
      });
      expect(windowed.total).toBeGreaterThan(0);
      expect(requestsTo(requests, '/stats/stream').at(-1)).toBe(`${baseUrl}/stats/stream?limit=10&window=5m`);
      await expect(page.locator('#total-note').textContent()).resolves.toBe('in the last 5 minutes');
      // The trending pages of the same window, linked to the pages on their wikis.
      const pages = await getJson<{ pages: Array<{ title: string; url: string; edits: number }> }>(
        `${baseUrl}/stats/pages?window=5m&limit=10`,
      );
      const topPage = pages.pages[0];
      expect(topPage).toBeDefined();
      await waitFor('the trending pages', async () =>
        (await page.locator('#trending tbody tr th a.name').first().textContent()) === topPage?.title
          ? true
          : undefined,
      );
      await expect(page.locator('#trending tbody tr th a.name').first().getAttribute('href')).resolves.toBe(
        topPage?.url,
      );
      await expect(page.locator('#trending tbody tr td').first().getAttribute('data-value')).resolves.toBe(
        String(topPage?.edits),
      );

      // 6. The drill-down of a wiki: a click on the top domain opens it, the URL names it (and
      //    survives a reload), and it shows that wiki's numbers from the server.
      const domain = topOf(windowed.by_domain) as string;
      await page.locator('#top-domains tbody tr th a.name').first().click();
      const wikiHash = `#/wiki/${encodeURIComponent(domain)}?window=5m`;
      await expect.poll(() => page.evaluate<string>('location.hash')).toBe(wikiHash);
      const wiki = await getJson<{ total: number; users: number }>(
        `${baseUrl}/stats?domain=${encodeURIComponent(domain)}&window=5m`,
      );
      await waitFor('the wiki drill-down', async () =>
        (await shownNumber(page, '#drill-total')) === wiki.total ? true : undefined,
      );
      await expect(shownNumber(page, '#drill-count')).resolves.toBe(wiki.users);
      await expect(page.locator('#drill-title .drill-name').textContent()).resolves.toBe(domain);
      await expect(page.getByRole('link', { name: `Open ${domain}` }).getAttribute('href')).resolves.toBe(
        `https://${domain}/`,
      );
      await page.reload();
      await waitFor('the drill-down again after a reload', async () =>
        (await shownNumber(page, '#drill-total')) === wiki.total ? true : undefined,
      );
      await expect(page.evaluate<string>('location.hash')).resolves.toBe(wikiHash);

      // 7. The drill-down of a user, by a click on a name: the bidi user, whose name must not
      //    reorder the title around it (the text after it stays to its right).
      await page.goto(`${baseUrl}/#/`);
      await waitFor('the top users', async () =>
        (await page.locator('#top-users tbody tr th a.name').count()) > 0 ? true : undefined,
      );
      await page.locator('#top-users tbody tr th a.name').first().click();
      await expect
        .poll(() => page.evaluate<string>('location.hash'))
        .toBe(`#/user/${encodeURIComponent(BIDI_USER)}`);
      const user = await getJson<{ total: number; by_domain: Record<string, number> }>(
        `${baseUrl}/stats/users/${encodeURIComponent(BIDI_USER)}`,
      );
      await waitFor('the user drill-down', async () =>
        (await shownNumber(page, '#drill-total')) === user.total ? true : undefined,
      );
      const title = await page.evaluate<{ nameRight: number; afterLeft: number }>(`(() => {
        const name = document.querySelector('#drill-title .drill-name');
        const after = document.createRange();
        after.selectNodeContents(name.nextSibling);
        return { nameRight: name.getBoundingClientRect().right, afterLeft: after.getBoundingClientRect().left };
      })()`);
      expect(title.afterLeft).toBeGreaterThanOrEqual(title.nameRight - 1);
      const userDomain = topOf(user.by_domain) as string;
      await expect(
        page.getByRole('link', { name: `User page of ${BIDI_USER} on ${userDomain}` }).getAttribute('href'),
      ).resolves.toBe(`https://${userDomain}/wiki/User:${encodeURIComponent(BIDI_USER)}`);
      replay.stall(false);

      // 8. Phone width: one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

      expect(problems).toEqual([]);
      await page.close();

      // 9. Fallback: a page whose stream is refused (a full server's 503) polls /stats instead.
      const fallback = await context.newPage();
      await fallback.route('**/stats/stream?**', (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"unavailable"}' }),
      );
      const polled: string[] = [];
      fallback.on('request', (request) => polled.push(request.url()));
      await fallback.goto(`${baseUrl}/`);
      const shown = await waitFor('the polled numbers', async () => {
        const via = await fallback.locator('body').getAttribute('data-transport');
        const total = await shownNumber(fallback, '#total');
        return via === 'polling' && total !== undefined && total > 0 ? total : undefined;
      });
      expect(shown).toBeGreaterThan(0);
      expect(requestsTo(polled, '/stats')[0]).toBe(`${baseUrl}/stats?limit=10`);
      await fallback.close();
    },
  );
});
