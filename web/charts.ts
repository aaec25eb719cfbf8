// DOM rendering of the dashboard's charts: plain elements and one SVG, no charting library.
import { formatCount, formatRate, niceCeil } from './format.js';
import type { RatePoint } from './rate-series.js';

export interface BarLinks {
  /** Where a click on the name goes (a drill-down of this page). */
  readonly drill?: (name: string) => string;
  /** A second, outside link beside the name (the user's page on the wiki). */
  readonly outside?: (name: string) => { readonly href: string; readonly label: string } | undefined;
}

/** Named counts as bars (largest first), each name a link when `links` say where to. */
export function renderBars(
  table: HTMLTableElement,
  entries: ReadonlyArray<readonly [string, number]>,
  links: BarLinks = {},
): void {
  renderBarRows(
    table,
    entries.map(([name, count]) => {
      const label = document.createElement('span');
      label.className = 'label';
      label.append(nameElement(name, links.drill?.(name)));
      const outside = links.outside?.(name);
      if (outside) label.append(outsideLink(outside.href, outside.label));
      return { label: [label], count };
    }),
  );
}

export interface BarRow {
  /** What the row header shows above its bar. */
  readonly label: readonly Node[];
  readonly count: number;
}

/**
 * A bar chart as table rows: a row header (label and bar) and a count cell, so it reads as a table
 * to a screen reader. Bars are sized through the CSSOM (`style.width`), which the page's
 * Content-Security-Policy allows, unlike inline style attributes. The first row is the largest.
 */
export function renderBarRows(table: HTMLTableElement, rows: readonly BarRow[]): void {
  const body = table.tBodies[0] ?? table.createTBody();
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const cell = document.createElement('td');
    cell.colSpan = 2;
    cell.className = 'empty';
    cell.textContent = 'No events yet';
    row.append(cell);
    body.replaceChildren(row);
    return;
  }
  const max = rows[0]?.count ?? 1;
  body.replaceChildren(
    ...rows.map(({ label, count }) => {
      const row = document.createElement('tr');
      const header = document.createElement('th');
      header.scope = 'row';
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'bar-fill';
      fill.style.width = `${max > 0 ? (count / max) * 100 : 0}%`;
      bar.append(fill);
      header.append(...label, bar);
      const value = document.createElement('td');
      value.textContent = formatCount(count);
      value.dataset.value = String(count);
      row.append(header, value);
      return row;
    }),
  );
}

/**
 * A name from the stream (user, wiki, page title), isolated with <bdi>: a name holding bidi
 * controls (U+202E) must not reorder the text around it. A link when `href` is given.
 */
export function nameElement(name: string, href?: string): HTMLElement {
  const bdi = document.createElement('bdi');
  bdi.textContent = name;
  const box = document.createElement(href === undefined ? 'span' : 'a');
  if (box instanceof HTMLAnchorElement && href !== undefined) box.href = href;
  box.className = 'name';
  box.title = name;
  box.append(bdi);
  return box;
}

/** A link off this site (a wiki), with an accessible name saying where it goes. */
export function outsideLink(href: string, label: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = href;
  link.className = 'outside';
  link.rel = 'noreferrer';
  link.setAttribute('aria-label', label);
  link.title = label;
  link.textContent = '↗';
  return link;
}

/** The SVG's coordinate box (see index.html): x 0..600 is `spanMs` ago..now, y 0..160 is top..0. */
const WIDTH = 600;
const HEIGHT = 160;

export interface LineChart {
  readonly svg: SVGSVGElement;
  readonly line: SVGPolylineElement;
  readonly area: SVGPolygonElement;
  readonly maxLabel: HTMLElement;
}

/** Draws the events-per-second line; the chart's accessible name carries its figures. */
export function renderRateLine(chart: LineChart, points: readonly RatePoint[], spanMs: number): void {
  const visible = points.filter((p) => p.age <= spanMs);
  const peak = visible.reduce((max, p) => Math.max(max, p.perSecond), 0);
  const top = niceCeil(peak);
  const xy = visible.map((p) => {
    const x = WIDTH - (p.age / spanMs) * WIDTH;
    const y = HEIGHT - (p.perSecond / top) * HEIGHT;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  chart.line.setAttribute('points', xy.join(' '));
  const first = xy[0];
  const last = xy[xy.length - 1];
  chart.area.setAttribute(
    'points',
    first && last ? `${first.split(',')[0]},${HEIGHT} ${xy.join(' ')} ${last.split(',')[0]},${HEIGHT}` : '',
  );
  chart.maxLabel.textContent = `${formatRate(top)} /s`;
  const now = visible[visible.length - 1];
  const average = visible.length ? visible.reduce((sum, p) => sum + p.perSecond, 0) / visible.length : 0;
  chart.svg.setAttribute(
    'aria-label',
    now
      ? `Events per second over the last ${Math.round(spanMs / 60_000)} minutes: ` +
          `now ${formatRate(now.perSecond)}, peak ${formatRate(peak)}, average ${formatRate(average)}`
      : 'Events per second: waiting for data',
  );
}

export interface Split {
  readonly box: HTMLElement;
  readonly botFill: HTMLElement;
  readonly humanFill: HTMLElement;
  readonly botCount: HTMLElement;
  readonly humanCount: HTMLElement;
}

/** Bots vs humans as one stacked bar, with counts and shares in the legend and accessible name. */
export function renderSplit(split: Split, bots: number, humans: number): void {
  const total = bots + humans;
  const botShare = total > 0 ? (bots / total) * 100 : 0;
  const humanShare = total > 0 ? 100 - botShare : 0;
  split.botFill.style.width = `${botShare}%`;
  split.humanFill.style.width = `${humanShare}%`;
  split.botCount.textContent = `${formatCount(bots)} (${botShare.toFixed(0)}%)`;
  split.botCount.dataset.value = String(bots);
  split.humanCount.textContent = `${formatCount(humans)} (${humanShare.toFixed(0)}%)`;
  split.humanCount.dataset.value = String(humans);
  split.box.setAttribute(
    'aria-label',
    total > 0
      ? `Bots ${formatCount(bots)} (${botShare.toFixed(0)}%), humans ${formatCount(humans)} (${humanShare.toFixed(0)}%)`
      : 'Bots vs humans: no events yet',
  );
}
