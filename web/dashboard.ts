// The live dashboard: the overview, or the drill-down of one wiki or one user, as the URL's hash
// says (route.ts). Views come over `/stats/stream` and fall back to polling (live-feed.ts).
import {
  type LineChart,
  nameElement,
  renderBarRows,
  renderBars,
  renderRateLine,
  renderSplit,
  type Split,
} from './charts.js';
import { formatBytes, formatCount, formatDuration, formatRate, sortedEntries } from './format.js';
import { LiveFeed, type Transport } from './live-feed.js';
import { RateSeries } from './rate-series.js';
import {
  formatRoute,
  pagesWindow,
  parseRoute,
  type Route,
  safeHttpUrl,
  userPageUrl,
  WINDOWS,
  type Window,
  wikiUrl,
  windowParam,
} from './route.js';

const POLL_MS = 1_000;
const PAGES_POLL_MS = 5_000;
const TOP = 10;
const RATE_SPAN_MS = 5 * 60_000;
const RATE_TILE_MS = 10_000;

type Counts = Record<string, number>;
interface Bytes {
  readonly added: number;
  readonly removed: number;
}
interface WindowInfo {
  readonly minutes: number;
}
interface PerMinute {
  readonly minute: string;
  readonly total: number;
}

/** `/stats` (internal/http/stats-json.ts; bytes as in the issue-12 API). */
interface StatsJson {
  readonly total: number;
  readonly rejected: number | null;
  readonly by_domain: Counts;
  readonly by_user: Counts;
  readonly by_type: Counts;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly last_event_at: string | null;
  readonly bytes?: Bytes;
  readonly window?: WindowInfo;
  readonly per_minute?: readonly PerMinute[];
}

/** `/stats?domain=`. */
interface WikiJson {
  readonly domain: string;
  readonly total: number;
  readonly by_user: Counts;
  readonly by_type: Counts;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly bytes: Bytes;
  readonly users: number;
  readonly last_event_at: string | null;
}

/** `/stats/users/{name}`. */
interface UserJson {
  readonly user: string;
  readonly total: number;
  readonly by_domain: Counts;
  readonly by_type: Counts;
  readonly bot: boolean;
  readonly bytes: Bytes;
  readonly first_seen: string;
  readonly last_seen: string;
}

/** `/stats/pages`. */
interface PagesJson {
  readonly pages: ReadonlyArray<{ domain: string; title: string; url: string; edits: number }>;
}

function byId<T extends Element>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`dashboard markup lacks #${id}`);
  return element as unknown as T;
}

const view = {
  status: byId<HTMLElement>('status'),
  updated: byId<HTMLElement>('updated'),
  crumbs: byId<HTMLElement>('crumbs'),
  overview: byId<HTMLElement>('overview'),
  total: byId<HTMLElement>('total'),
  totalNote: byId<HTMLElement>('total-note'),
  rate: byId<HTMLElement>('rate'),
  rateNote: byId<HTMLElement>('rate-note'),
  rateTitle: byId<HTMLElement>('h-rate'),
  rateFrom: byId<HTMLElement>('rate-from'),
  lastEvent: byId<HTMLElement>('last-event'),
  lastEventDate: byId<HTMLElement>('last-event-date'),
  lag: byId<HTMLElement>('lag'),
  rejected: byId<HTMLElement>('rejected'),
  bytesAdded: byId<HTMLElement>('bytes-added'),
  bytesRemoved: byId<HTMLElement>('bytes-removed'),
  domains: byId<HTMLTableElement>('top-domains'),
  users: byId<HTMLTableElement>('top-users'),
  types: byId<HTMLTableElement>('edit-types'),
  trending: byId<HTMLTableElement>('trending'),
  trendingTitle: byId<HTMLElement>('h-pages'),
};
const drill = {
  root: byId<HTMLElement>('drilldown'),
  title: byId<HTMLElement>('drill-title'),
  links: byId<HTMLElement>('drill-links'),
  total: byId<HTMLElement>('drill-total'),
  totalNote: byId<HTMLElement>('drill-total-note'),
  countLabel: byId<HTMLElement>('drill-count-label'),
  count: byId<HTMLElement>('drill-count'),
  bytesAdded: byId<HTMLElement>('drill-bytes-added'),
  bytesRemoved: byId<HTMLElement>('drill-bytes-removed'),
  kindLabel: byId<HTMLElement>('drill-kind-label'),
  kind: byId<HTMLElement>('drill-kind'),
  kindNote: byId<HTMLElement>('drill-kind-note'),
  topTitle: byId<HTMLElement>('h-drill-top'),
  top: byId<HTMLTableElement>('drill-top'),
  types: byId<HTMLTableElement>('drill-types'),
  pagesCard: byId<HTMLElement>('drill-pages-card'),
  pagesTitle: byId<HTMLElement>('h-drill-pages'),
  pages: byId<HTMLTableElement>('drill-pages'),
};
const chart: LineChart = {
  svg: byId<SVGSVGElement>('rate-chart'),
  line: byId<SVGPolylineElement>('rate-line'),
  area: byId<SVGPolygonElement>('rate-area'),
  maxLabel: byId<HTMLElement>('rate-max'),
};
const split: Split = {
  box: byId<HTMLElement>('bots-split'),
  botFill: byId<HTMLElement>('bots-fill'),
  humanFill: byId<HTMLElement>('humans-fill'),
  botCount: byId<HTMLElement>('bots-count'),
  humanCount: byId<HTMLElement>('humans-count'),
};

const WINDOW_NAMES: Record<Window, string> = {
  '5m': 'last 5 minutes',
  '1h': 'last hour',
  '24h': 'last 24 hours',
  all: 'since the first start',
};

function setNumber(element: HTMLElement, value: number | null | undefined, text?: string): void {
  if (value === null || value === undefined) {
    element.textContent = '–';
    element.dataset.value = '';
    return;
  }
  element.textContent = text ?? formatCount(value);
  element.dataset.value = String(value);
}

/** Touches the status only when it changes: it is a live region, and must not chatter. */
function setStatus(state: 'live' | 'error', text: string): void {
  if (view.status.dataset.state === state && view.status.textContent === text) return;
  view.status.dataset.state = state;
  view.status.textContent = text;
}

function live(via: Transport): void {
  // Tests and curious users can see which way the numbers came.
  document.body.dataset.transport = via;
  setStatus('live', via === 'stream' ? 'Live' : 'Live (polling)');
  view.updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

const drillWiki = (domain: string): string => formatRoute({ view: 'wiki', domain, window: route.window });
const drillUser = (user: string): string => formatRoute({ view: 'user', user, window: route.window });

// --- overview ---------------------------------------------------------------------------------

let rates = new RateSeries(RATE_SPAN_MS);

function renderOverview(stats: StatsJson, at: number): void {
  setNumber(view.total, stats.total);
  setNumber(view.rejected, stats.rejected);
  setNumber(view.bytesAdded, stats.bytes?.added, stats.bytes && formatBytes(stats.bytes.added));
  setNumber(view.bytesRemoved, stats.bytes?.removed, stats.bytes && formatBytes(stats.bytes.removed));
  renderActivity(stats, at);

  if (stats.last_event_at) {
    const last = new Date(stats.last_event_at);
    view.lastEvent.textContent = last.toLocaleTimeString();
    view.lastEventDate.textContent = last.toLocaleDateString(undefined, { dateStyle: 'medium' });
    // Against this browser's clock: a skewed clock shows as lag (or, ahead, as none).
    const lagMs = Math.max(0, Date.now() - last.getTime());
    setNumber(view.lag, lagMs, formatDuration(lagMs));
  }

  renderBars(view.domains, sortedEntries(stats.by_domain).slice(0, TOP), { drill: drillWiki });
  renderBars(view.users, sortedEntries(stats.by_user).slice(0, TOP), { drill: drillUser });
  renderBars(view.types, sortedEntries(stats.by_type));
  renderSplit(split, stats.bots.bot, stats.bots.human);
}

/**
 * Events per second: for all time, from successive totals as they arrive; for a window, whose
 * total slides, from its per-minute counts (the average over the window in the tile).
 */
function renderActivity(stats: StatsJson, at: number): void {
  const buckets = stats.per_minute;
  if (!stats.window || !buckets) {
    rates.add({ at, total: stats.total });
    const recent = rates.recent(RATE_TILE_MS);
    if (recent !== undefined) setNumber(view.rate, recent, formatRate(recent));
    renderRateLine(chart, rates.points(), RATE_SPAN_MS);
    return;
  }
  const spanMs = stats.window.minutes * 60_000;
  const average = stats.total / (stats.window.minutes * 60);
  setNumber(view.rate, average, formatRate(average));
  const newest = buckets.length ? Date.parse((buckets[buckets.length - 1] as PerMinute).minute) : 0;
  const points = buckets.map((bucket, i) => {
    const start = Date.parse(bucket.minute);
    const next = buckets[i + 1];
    // Buckets are a minute wide, or wider past the first hour: the width is the gap to the next.
    const widthMs = next ? Date.parse(next.minute) - start : 60_000;
    return { age: newest - start, perSecond: (bucket.total * 1000) / Math.max(widthMs, 1) };
  });
  renderRateLine(chart, points, spanMs);
}

// --- drill-downs ------------------------------------------------------------------------------

function renderTitle(kind: string, name: string, after: string): void {
  // The name is isolated: bidi controls in it cannot reorder "kind" or "after" around it.
  const label = document.createElement('bdi');
  label.className = 'drill-name';
  label.textContent = name;
  drill.title.replaceChildren(`${kind} `, label, ` ${after}`);
}

function renderWiki(wiki: WikiJson): void {
  renderTitle('Wiki', wiki.domain, `· ${WINDOW_NAMES[route.window]}`);
  const site = wikiUrl(wiki.domain);
  drill.links.replaceChildren(...(site ? [linkTo(site, `Open ${wiki.domain}`)] : []));
  setNumber(drill.total, wiki.total);
  drill.countLabel.textContent = 'Users';
  setNumber(drill.count, wiki.users);
  setNumber(drill.bytesAdded, wiki.bytes.added, formatBytes(wiki.bytes.added));
  setNumber(drill.bytesRemoved, wiki.bytes.removed, formatBytes(wiki.bytes.removed));
  drill.kindLabel.textContent = 'Bots';
  drill.kind.textContent = formatCount(wiki.bots.bot);
  drill.kindNote.textContent = `humans ${formatCount(wiki.bots.human)}`;
  drill.topTitle.textContent = 'Top users';
  renderBars(drill.top, sortedEntries(wiki.by_user).slice(0, TOP), {
    drill: drillUser,
    outside: (user) => outside(userPageUrl(wiki.domain, user), `User page of ${user} on ${wiki.domain}`),
  });
  renderBars(drill.types, sortedEntries(wiki.by_type));
}

function renderUser(user: UserJson): void {
  renderTitle('User', user.user, `· ${WINDOW_NAMES[route.window]}`);
  drill.links.replaceChildren();
  setNumber(drill.total, user.total);
  drill.countLabel.textContent = 'Wikis';
  setNumber(drill.count, Object.keys(user.by_domain).length);
  setNumber(drill.bytesAdded, user.bytes.added, formatBytes(user.bytes.added));
  setNumber(drill.bytesRemoved, user.bytes.removed, formatBytes(user.bytes.removed));
  drill.kindLabel.textContent = 'Bot';
  drill.kind.textContent = user.bot ? 'yes' : 'no';
  drill.kindNote.textContent = `seen ${new Date(user.first_seen).toLocaleString()} – ${new Date(user.last_seen).toLocaleString()}`;
  drill.topTitle.textContent = 'Wikis';
  renderBars(drill.top, sortedEntries(user.by_domain).slice(0, TOP), {
    drill: drillWiki,
    outside: (domain) => outside(userPageUrl(domain, user.user), `User page of ${user.user} on ${domain}`),
  });
  renderBars(drill.types, sortedEntries(user.by_type));
}

function outside(href: string | undefined, label: string): { href: string; label: string } | undefined {
  return href === undefined ? undefined : { href, label };
}

function linkTo(href: string, text: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = href;
  link.rel = 'noreferrer';
  link.textContent = text;
  return link;
}

/** A drill-down of something never counted (404): say so, keep polling, it may appear. */
function renderMissing(kind: string, name: string): void {
  renderTitle(kind, name, '· no events yet');
  for (const element of [drill.total, drill.count, drill.bytesAdded, drill.bytesRemoved, drill.kind]) {
    setNumber(element, undefined);
  }
  drill.links.replaceChildren();
  renderBars(drill.top, []);
  renderBars(drill.types, []);
}

// --- trending pages ---------------------------------------------------------------------------

function renderPages(table: HTMLTableElement, pages: PagesJson['pages'], withDomain: boolean): void {
  renderBarRows(
    table,
    pages.map((page) => {
      const label = document.createElement('span');
      label.className = 'label';
      label.append(nameElement(page.title, safeHttpUrl(page.url)));
      if (!withDomain) return { label: [label], count: page.edits };
      const wiki = nameElement(page.domain, drillWiki(page.domain));
      wiki.classList.add('domain');
      return { label: [label, wiki], count: page.edits };
    }),
  );
}

// --- routing ----------------------------------------------------------------------------------

let route: Route = parseRoute(location.hash);
let feeds: Array<Pick<LiveFeed<unknown>, 'start' | 'stop'>> = [];

function onError(message: string): void {
  setStatus('error', `Cannot read the stats (${message}); retrying`);
}

function show(next: Route): void {
  for (const feed of feeds) feed.stop();
  route = next;
  rates = new RateSeries(RATE_SPAN_MS);
  const windowed = windowParam(route.window);
  const pagesQuery = { window: pagesWindow(route.window), limit: String(TOP) };
  renderControls();
  view.overview.hidden = route.view !== 'overview';
  drill.root.hidden = route.view === 'overview';

  if (route.view === 'overview') {
    view.totalNote.textContent =
      route.window === 'all' ? 'counted since the first start' : `in the ${WINDOW_NAMES[route.window]}`;
    view.rateNote.textContent = route.window === 'all' ? 'over the last 10 s' : 'average over the window';
    view.rateTitle.textContent =
      route.window === 'all'
        ? 'Events per second, last 5 minutes'
        : `Events per second, ${WINDOW_NAMES[route.window]}`;
    view.rateFrom.textContent =
      route.window === 'all' ? '5 min ago' : `${WINDOW_NAMES[route.window].replace('last ', '')} ago`;
    view.trendingTitle.textContent = `Trending pages, ${WINDOW_NAMES[pagesWindow(route.window)]}`;
    const q = query({ limit: String(TOP), ...windowed });
    feeds = [
      new LiveFeed<StatsJson>({
        streamUrl: `/stats/stream?${q}`,
        pollUrl: `/stats?${q}`,
        pollMs: POLL_MS,
        onData: (stats, via) => {
          renderOverview(stats, performance.now());
          live(via);
        },
        onError,
      }),
      new LiveFeed<PagesJson>({
        pollUrl: `/stats/pages?${query(pagesQuery)}`,
        pollMs: PAGES_POLL_MS,
        onData: (pages) => renderPages(view.trending, pages.pages, true),
        onError,
      }),
    ];
  } else if (route.view === 'wiki') {
    const { domain } = route;
    const q = query({ domain, limit: String(TOP), ...windowed });
    drill.pagesCard.hidden = false;
    drill.pagesTitle.textContent = `Trending pages, ${WINDOW_NAMES[pagesWindow(route.window)]}`;
    feeds = [
      new LiveFeed<WikiJson>({
        streamUrl: `/stats/stream?${q}`,
        pollUrl: `/stats?${q}`,
        pollMs: POLL_MS,
        onData: (wiki, via) => {
          renderWiki(wiki);
          live(via);
        },
        onError: (message, status) => (status === 404 ? renderMissing('Wiki', domain) : onError(message)),
      }),
      new LiveFeed<PagesJson>({
        pollUrl: `/stats/pages?${query({ ...pagesQuery, domain })}`,
        pollMs: PAGES_POLL_MS,
        onData: (pages) => renderPages(drill.pages, pages.pages, false),
        onError,
      }),
    ];
  } else {
    const { user } = route;
    drill.pagesCard.hidden = true;
    feeds = [
      // No stream for one user's counts: polled, at most once a second.
      new LiveFeed<UserJson>({
        // Every wiki of theirs (a short list even for a busy bot), so the count of wikis is exact.
        pollUrl: `/stats/users/${encodeURIComponent(user)}?${query({ limit: 'all', ...windowed })}`,
        pollMs: POLL_MS,
        onData: (json, via) => {
          renderUser(json);
          live(via);
        },
        onError: (message, status) => (status === 404 ? renderMissing('User', user) : onError(message)),
      }),
    ];
  }
  for (const feed of feeds) feed.start();
}

/** The window links keep the current view; the breadcrumb names it. */
function renderControls(): void {
  for (const window of WINDOWS) {
    const link = byId<HTMLAnchorElement>(`window-${window}`);
    link.href = formatRoute({ ...route, window });
    if (window === route.window) link.setAttribute('aria-current', 'true');
    else link.removeAttribute('aria-current');
  }
  const home = document.createElement('a');
  home.href = formatRoute({ view: 'overview', window: route.window });
  home.textContent = 'Overview';
  if (route.view === 'overview') {
    view.crumbs.replaceChildren(home);
    document.title = 'wikistream · live Wikipedia changes';
    return;
  }
  const name = route.view === 'wiki' ? route.domain : route.user;
  const here = document.createElement('bdi');
  here.textContent = name;
  view.crumbs.replaceChildren(home, ` › ${route.view === 'wiki' ? 'Wiki' : 'User'} `, here);
  document.title = `${name} · wikistream`;
}

window.addEventListener('hashchange', () => show(parseRoute(location.hash)));
show(route);
