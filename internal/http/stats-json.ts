import type { StatsView, StatsWindowView } from '../stats/stats-aggregate.js';

/**
 * Renders `/stats` by hand so each map keeps its sorted order: a JS object would move keys that
 * look like integers (a user named "1234") to the front.
 */
export function renderStatsJson(view: StatsView, limit: number | 'all'): string {
  // A store that returns the same view object until its counts change (the Cassandra store's
  // view does) gets each rendering once: under load, most requests then skip it.
  let byLimit = rendered.get(view);
  if (!byLimit) {
    byLimit = new Map();
    rendered.set(view, byLimit);
  }
  const cached = byLimit.get(limit);
  if (cached !== undefined) return cached;
  const json = renderStatsJsonNow(view, limit);
  byLimit.set(limit, json);
  return json;
}

const rendered = new WeakMap<StatsView, Map<number | 'all', string>>();

function renderStatsJsonNow(view: StatsView, limit: number | 'all'): string {
  return (
    `{"total":${view.total},"rejected":${view.rejected},` +
    `"by_domain":${orderedObject(view.byDomain)},"by_user":${orderedObject(view.byUser)},` +
    `"by_type":${orderedObject(view.byType)},"bots":${JSON.stringify(view.bots)},` +
    `"domains":${view.distinctDomains},"users":${view.distinctUsers},` +
    `"last_event_at":${JSON.stringify(view.lastEventAt)},"limit":${JSON.stringify(limit)}}`
  );
}

/**
 * `/stats?window=Nm`: the same keys in the same order as `/stats` (`rejected` is null: a rejected
 * record has no event time to place it in a minute), then `window` and `per_minute`.
 */
export function renderWindowStatsJson(view: StatsWindowView, limit: number | 'all'): string {
  const perMinute = view.perMinute
    .map((m) => `{"minute":${JSON.stringify(new Date(m.startMs).toISOString())},"total":${m.total}}`)
    .join(',');
  return (
    `{"total":${view.total},"rejected":null,` +
    `"by_domain":${orderedObject(view.byDomain)},"by_user":${orderedObject(view.byUser)},` +
    `"by_type":${orderedObject(view.byType)},"bots":${JSON.stringify(view.bots)},` +
    `"domains":${view.distinctDomains},"users":${view.distinctUsers},` +
    `"last_event_at":${JSON.stringify(view.lastEventAt)},"limit":${JSON.stringify(limit)},` +
    `"window":{"minutes":${view.minutes},"from":${JSON.stringify(view.from)},"to":${JSON.stringify(view.to)}},` +
    `"per_minute":[${perMinute}]}`
  );
}

function orderedObject(entries: ReadonlyArray<readonly [string, number]>): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const [key, count] = entries[i] as readonly [string, number];
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${count}`;
  }
  return `${out}}`;
}
