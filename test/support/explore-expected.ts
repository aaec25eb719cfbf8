import { expect } from 'vitest';

/**
 * The issue-12 answers (one wiki, one user, bytes, pages, windows) computed independently of the
 * pipeline, straight from the NDJSON lines sent (canaries out, a repeated meta.id once), and
 * checked against a running process's HTTP API.
 */
interface Raw {
  meta: { id: string; domain: string; dt: string };
  user?: string;
  type?: string;
  bot?: boolean;
  title?: string;
  length?: { old?: number; new?: number };
}

interface Bytes {
  added: number;
  removed: number;
}

const MINUTE_MS = 60_000;

function counted(lines: readonly string[]): Raw[] {
  const seen = new Set<string>();
  const out: Raw[] = [];
  for (const line of lines) {
    let event: Raw;
    try {
      event = JSON.parse(line) as Raw;
    } catch {
      continue;
    }
    if (event.meta.domain === 'canary' || seen.has(event.meta.id)) continue;
    seen.add(event.meta.id);
    out.push(event);
  }
  return out;
}

/** README: `length.new - length.old` when both are numbers; a new page's absent old length is 0. */
function bytesOf(e: Raw): Bytes {
  const before = typeof e.length?.old === 'number' ? e.length.old : e.type === 'new' ? 0 : undefined;
  const after = typeof e.length?.new === 'number' ? e.length.new : undefined;
  if (before === undefined || after === undefined) return { added: 0, removed: 0 };
  return { added: Math.max(0, after - before), removed: Math.max(0, before - after) };
}

function sumBytes(list: readonly Raw[]): Bytes {
  const out = { added: 0, removed: 0 };
  for (const e of list) {
    const b = bytesOf(e);
    out.added += b.added;
    out.removed += b.removed;
  }
  return out;
}

// Maps, then Object.fromEntries: a name like "__proto__" becomes an own key, as JSON.parse makes it.
function tally(list: readonly Raw[], key: (e: Raw) => string | undefined): Record<string, number> {
  const out = new Map<string, number>();
  for (const e of list) {
    const k = key(e);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + 1);
  }
  return Object.fromEntries(out);
}

function groupBytes(list: readonly Raw[], key: (e: Raw) => string | undefined): Record<string, Bytes> {
  const out = new Map<string, Bytes>();
  for (const e of list) {
    const k = key(e);
    if (k === undefined) continue;
    const b = bytesOf(e);
    const had = out.get(k) ?? { added: 0, removed: 0 };
    out.set(k, { added: had.added + b.added, removed: had.removed + b.removed });
  }
  return Object.fromEntries(out);
}

const ms = (e: Raw) => Date.parse(e.meta.dt);
const iso = (n: number) => new Date(n).toISOString();

/** The events of the last `minutes` minutes as README rounds them (to 10 minutes past an hour). */
function windowed(events: readonly Raw[], minutes: number): Raw[] {
  const minute = (e: Raw) => Math.floor(ms(e) / MINUTE_MS);
  const newest = Math.max(...events.map(minute));
  const start = newest - minutes + 1;
  const from = minutes <= 60 ? start : Math.floor(start / 10) * 10;
  return events.filter((e) => minute(e) >= from);
}

async function get(port: number, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** Checks every new query of a process serving on `port` against the lines it was sent. */
export async function expectExploreExact(port: number, lines: readonly string[]): Promise<void> {
  const events = counted(lines);
  const all = await get(port, '/stats?limit=all');
  expect(all.bytes).toEqual(sumBytes(events));
  expect(all.bytes_by_domain).toEqual(groupBytes(events, (e) => e.meta.domain));
  expect(all.bytes_by_user).toEqual(groupBytes(events, (e) => e.user));
  expect((all.bytes as Bytes).added).toBeGreaterThan(0);

  const byCount = (counts: Record<string, number>) => Object.entries(counts).sort(([, a], [, b]) => b - a);
  const domains = byCount(tally(events, (e) => e.meta.domain)).map(([d]) => d);
  for (const domain of [...domains.slice(0, 4), ...domains.slice(-2)]) {
    const mine = events.filter((e) => e.meta.domain === domain);
    const bots = mine.filter((e) => e.bot === true).length;
    const users = tally(mine, (e) => e.user);
    expect(await get(port, `/stats?domain=${encodeURIComponent(domain)}&limit=all`)).toEqual({
      domain,
      total: mine.length,
      by_user: users,
      by_type: tally(mine, (e) => e.type ?? 'unknown'),
      bots: { bot: bots, human: mine.length - bots },
      bytes: sumBytes(mine),
      users: Object.keys(users).length,
      last_event_at: iso(Math.max(...mine.map(ms))),
      limit: 'all',
    });
  }

  const users = byCount(tally(events, (e) => e.user)).map(([u]) => u);
  for (const user of [...users.slice(0, 4), ...users.slice(-2)]) {
    const theirs = events.filter((e) => e.user === user);
    expect(await get(port, `/stats/users/${encodeURIComponent(user)}?limit=all`)).toEqual({
      user,
      total: theirs.length,
      by_domain: tally(theirs, (e) => e.meta.domain),
      by_type: tally(theirs, (e) => e.type ?? 'unknown'),
      bot: theirs.some((e) => e.bot === true),
      bytes: sumBytes(theirs),
      first_seen: iso(Math.min(...theirs.map(ms))),
      last_seen: iso(Math.max(...theirs.map(ms))),
      limit: 'all',
    });
  }

  for (const window of ['5m', '1h', '24h']) {
    const minutes = window.endsWith('h') ? Number.parseInt(window, 10) * 60 : Number.parseInt(window, 10);
    const span = windowed(events, minutes);
    expect(span.length, window).toBeGreaterThan(minutes > 5 ? 100 : 0);
    const stats = await get(port, `/stats?window=${window}&limit=all`);
    expect(stats.total, window).toBe(span.length);
    expect(stats.by_user, window).toEqual(tally(span, (e) => e.user));
    expect(stats.bytes_by_domain, window).toEqual(groupBytes(span, (e) => e.meta.domain));
    expect(stats.bytes_by_user, window).toEqual(groupBytes(span, (e) => e.user));
    const pages = (await get(port, `/stats/pages?window=${window}&limit=all`)).pages as Array<{
      domain: string;
      title: string;
      edits: number;
    }>;
    const got = Object.fromEntries(pages.map((p) => [JSON.stringify([p.domain, p.title]), p.edits]));
    expect(got, window).toEqual(
      tally(span, (e) => (e.title === undefined ? undefined : JSON.stringify([e.meta.domain, e.title]))),
    );
    const top = domains[0] as string;
    const inWiki = span.filter((e) => e.meta.domain === top);
    const wiki = await get(port, `/stats?domain=${encodeURIComponent(top)}&window=${window}&limit=all`);
    expect(wiki, window).toMatchObject({ total: inWiki.length, by_user: tally(inWiki, (e) => e.user) });
  }
}
