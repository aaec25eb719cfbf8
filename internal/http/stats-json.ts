import type { StatsView } from '../stats/stats-aggregate.js';

/**
 * Renders `/stats` by hand so each map keeps its sorted order: a JS object would move keys that
 * look like integers (a user named "1234") to the front.
 */
export function renderStatsJson(view: StatsView, limit: number | 'all'): string {
  return (
    `{"total":${view.total},"rejected":${view.rejected},` +
    `"by_domain":${orderedObject(view.byDomain)},"by_user":${orderedObject(view.byUser)},` +
    `"by_type":${orderedObject(view.byType)},"bots":${JSON.stringify(view.bots)},` +
    `"domains":${view.distinctDomains},"users":${view.distinctUsers},` +
    `"last_event_at":${JSON.stringify(view.lastEventAt)},"limit":${JSON.stringify(limit)}}`
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
