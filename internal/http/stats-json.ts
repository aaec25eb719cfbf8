import type {
  BucketTotal,
  Bytes,
  BytesEntries,
  DomainView,
  Entries,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
  WindowSpan,
} from '../stats/stats-views.js';

// Every answer is rendered by hand so each map keeps its sorted order: a JS object would move keys
// that look like integers (a user named "1234") to the front, and names are never object keys
// here, so "__proto__" is a name like any other.

/**
 * Stores return the same view object until their counts change (StatsAggregate caches them), so
 * each rendering is done once per change and limit: under load, most requests then skip it.
 */
const rendered = new WeakMap<object, Map<number | 'all', string>>();

function cachedRender<V extends object>(view: V, limit: number | 'all', render: (view: V) => string): string {
  let byLimit = rendered.get(view);
  if (!byLimit) {
    byLimit = new Map();
    rendered.set(view, byLimit);
  }
  const cached = byLimit.get(limit);
  if (cached !== undefined) return cached;
  const json = render(view);
  byLimit.set(limit, json);
  return json;
}

/** `/stats`: the keys it always had, in the same order, then the bytes. */
export function renderStatsJson(view: StatsView, limit: number | 'all'): string {
  return cachedRender(
    view,
    limit,
    (v) =>
      `{"total":${v.total},"rejected":${v.rejected},${rankings(v)},` +
      `"last_event_at":${JSON.stringify(v.lastEventAt)},"limit":${JSON.stringify(limit)},${bytesKeys(v)}}`,
  );
}

/**
 * `/stats?window=Nm`: the same keys in the same order as `/stats` (`rejected` is null: a rejected
 * record has no event time to place it in a minute), then `window` and `per_minute`, then bytes.
 */
export function renderWindowStatsJson(view: StatsWindowView, limit: number | 'all'): string {
  return cachedRender(
    view,
    limit,
    (v) =>
      `{"total":${v.total},"rejected":null,${rankings(v)},` +
      `"last_event_at":${JSON.stringify(v.lastEventAt)},"limit":${JSON.stringify(limit)},` +
      `"window":${windowJson(v)},"per_minute":${perMinuteJson(v.perMinute)},${bytesKeys(v)}}`,
  );
}

/** `/stats?domain=`: one wiki. */
export function renderDomainJson(view: DomainView, limit: number | 'all'): string {
  return cachedRender(view, limit, (v) => {
    const window =
      v.window === undefined
        ? ''
        : `,"window":${windowJson(v.window)},"per_minute":${perMinuteJson(v.perMinute ?? [])}`;
    return (
      `{"domain":${JSON.stringify(v.domain)},"total":${v.total},"by_user":${orderedObject(v.byUser)},` +
      `"by_type":${orderedObject(v.byType)},"bots":${JSON.stringify(v.bots)},"bytes":${bytesJson(v.bytes)},` +
      `"users":${v.distinctUsers},"last_event_at":${JSON.stringify(v.lastEventAt)},` +
      `"limit":${JSON.stringify(limit)}${window}}`
    );
  });
}

/** `/stats/users/{name}`: one user. */
export function renderUserJson(view: UserView, limit: number | 'all'): string {
  return cachedRender(view, limit, (v) => {
    const window = v.window === undefined ? '' : `,"window":${windowJson(v.window)}`;
    return (
      `{"user":${JSON.stringify(v.user)},"total":${v.total},"by_domain":${orderedObject(v.byDomain)},` +
      `"by_type":${orderedObject(v.byType)},"bot":${v.bot},"bytes":${bytesJson(v.bytes)},` +
      `"first_seen":${JSON.stringify(v.firstSeen)},"last_seen":${JSON.stringify(v.lastSeen)},` +
      `"limit":${JSON.stringify(limit)}${window}}`
    );
  });
}

/** `/stats/pages`: the most edited pages of the window. */
export function renderPagesJson(view: PagesView, limit: number | 'all'): string {
  return cachedRender(view, limit, (v) => {
    const pages = v.pages
      .map(
        (p) =>
          `{"domain":${JSON.stringify(p.domain)},"title":${JSON.stringify(p.title)},` +
          `"url":${JSON.stringify(p.url)},"edits":${p.edits}}`,
      )
      .join(',');
    return `{"window":${windowJson(v.window)},"pages":[${pages}],"limit":${JSON.stringify(limit)}}`;
  });
}

interface Rankings {
  readonly byDomain: Entries;
  readonly byUser: Entries;
  readonly byType: Entries;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
}

function rankings(v: Rankings): string {
  return (
    `"by_domain":${orderedObject(v.byDomain)},"by_user":${orderedObject(v.byUser)},` +
    `"by_type":${orderedObject(v.byType)},"bots":${JSON.stringify(v.bots)},` +
    `"domains":${v.distinctDomains},"users":${v.distinctUsers}`
  );
}

function bytesKeys(v: {
  readonly bytes: Bytes;
  readonly bytesByDomain: BytesEntries;
  readonly bytesByUser: BytesEntries;
}): string {
  return (
    `"bytes":${bytesJson(v.bytes)},"bytes_by_domain":${orderedBytes(v.bytesByDomain)},` +
    `"bytes_by_user":${orderedBytes(v.bytesByUser)}`
  );
}

function windowJson(w: WindowSpan): string {
  return `{"minutes":${w.minutes},"from":${JSON.stringify(w.from)},"to":${JSON.stringify(w.to)}}`;
}

/** Oldest first; a bucket beyond the last hour says how many minutes it spans. */
function perMinuteJson(buckets: readonly BucketTotal[]): string {
  const items = buckets.map(
    (m) =>
      `{"minute":${JSON.stringify(new Date(m.startMs).toISOString())},"total":${m.total}` +
      `${m.minutes === 1 ? '' : `,"minutes":${m.minutes}`}}`,
  );
  return `[${items.join(',')}]`;
}

function bytesJson(b: Bytes): string {
  return `{"added":${b.added},"removed":${b.removed}}`;
}

function orderedObject(entries: Entries): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [key, count] = entries[i] as readonly [string, number];
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${count}`;
  }
  return `${out}}`;
}

function orderedBytes(entries: BytesEntries): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [key, bytes] = entries[i] as readonly [string, Bytes];
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${bytesJson(bytes)}`;
  }
  return `${out}}`;
}
