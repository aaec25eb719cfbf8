// The live dashboard: polls /stats (same origin) at most once a second and redraws in place.
import { type LineChart, renderBars, renderRateLine, renderSplit, type Split } from './charts.js';
import { formatCount, formatDuration, formatRate, sortedEntries } from './format.js';
import { RateSeries } from './rate-series.js';

const POLL_MS = 1_000;
const TOP = 10;
const RATE_SPAN_MS = 5 * 60_000;
const RATE_TILE_MS = 10_000;

/** The part of `/stats` the page shows (see internal/http/stats-json.ts). */
interface StatsJson {
  readonly total: number;
  readonly rejected: number;
  readonly by_domain: Record<string, number>;
  readonly by_user: Record<string, number>;
  readonly by_type: Record<string, number>;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly last_event_at: string | null;
}

function byId<T extends Element>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`dashboard markup lacks #${id}`);
  return element as unknown as T;
}

const view = {
  status: byId<HTMLElement>('status'),
  updated: byId<HTMLElement>('updated'),
  total: byId<HTMLElement>('total'),
  rate: byId<HTMLElement>('rate'),
  lastEvent: byId<HTMLElement>('last-event'),
  lastEventDate: byId<HTMLElement>('last-event-date'),
  lag: byId<HTMLElement>('lag'),
  rejected: byId<HTMLElement>('rejected'),
  domains: byId<HTMLTableElement>('top-domains'),
  users: byId<HTMLTableElement>('top-users'),
  types: byId<HTMLTableElement>('edit-types'),
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
const rates = new RateSeries(RATE_SPAN_MS);

function setNumber(element: HTMLElement, value: number, text = formatCount(value)): void {
  element.textContent = text;
  element.dataset.value = String(value);
}

/** Touches the status only when it changes: it is a live region, and must not chatter. */
function setStatus(state: 'live' | 'error', text: string): void {
  if (view.status.dataset.state === state && view.status.textContent === text) return;
  view.status.dataset.state = state;
  view.status.textContent = text;
}

function render(stats: StatsJson, at: number): void {
  setNumber(view.total, stats.total);
  setNumber(view.rejected, stats.rejected);
  rates.add({ at, total: stats.total });
  const recent = rates.recent(RATE_TILE_MS);
  if (recent !== undefined) setNumber(view.rate, recent, formatRate(recent));
  renderRateLine(chart, rates.points(), RATE_SPAN_MS);

  if (stats.last_event_at) {
    const last = new Date(stats.last_event_at);
    view.lastEvent.textContent = last.toLocaleTimeString();
    view.lastEventDate.textContent = last.toLocaleDateString(undefined, { dateStyle: 'medium' });
    // Against this browser's clock: a skewed clock shows as lag (or, ahead, as none).
    const lagMs = Math.max(0, Date.now() - last.getTime());
    setNumber(view.lag, lagMs, formatDuration(lagMs));
  }

  renderBars(view.domains, sortedEntries(stats.by_domain).slice(0, TOP));
  renderBars(view.users, sortedEntries(stats.by_user).slice(0, TOP));
  renderBars(view.types, sortedEntries(stats.by_type));
  renderSplit(split, stats.bots.bot, stats.bots.human);
}

async function poll(): Promise<void> {
  const started = performance.now();
  // A hidden tab reads nothing; the rate line simply spans the gap when it is shown again.
  if (!document.hidden) {
    try {
      const response = await fetch(`/stats?limit=${TOP}`, {
        cache: 'no-store',
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`/stats answered HTTP ${response.status}`);
      render((await response.json()) as StatsJson, performance.now());
      setStatus('live', 'Live');
      view.updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      setStatus(
        'error',
        `Cannot read /stats (${err instanceof Error ? err.message : String(err)}); retrying`,
      );
    }
  }
  // At most one request a second, and never two at once: the next starts after this one ended.
  setTimeout(() => void poll(), Math.max(0, POLL_MS - (performance.now() - started)));
}

void poll();
