import { MinuteCounts, type MinuteCountsLike } from '../../stats/minute-buckets.js';
import { StatsDelta } from '../../stats/stats-delta.js';

/**
 * JSON forms kept in `partition_state.value`: a batch's delta (the 'change' rows other instances
 * follow) and one minute's counts (the 'minute' rows). Short keys: a change row is written with
 * every batch, and user maps dominate its size.
 */
interface MinuteJson {
  t: number;
  b: number;
  h: number;
  d: Array<[string, number]>;
  u: Array<[string, number]>;
  y: Array<[string, number]>;
}

interface DeltaJson {
  t: number;
  r: number;
  b: number;
  h: number;
  l: number;
  d: Array<[string, number]>;
  u: Array<[string, number]>;
  y: Array<[string, number]>;
  m: Array<[number, MinuteJson]>;
}

export function encodeMinute(counts: MinuteCountsLike): string {
  return JSON.stringify(minuteJson(counts));
}

export function decodeMinute(text: string): MinuteCounts {
  return minuteFrom(JSON.parse(text) as MinuteJson);
}

export function encodeDelta(delta: StatsDelta): string {
  const json: DeltaJson = {
    t: delta.total,
    r: delta.rejected,
    b: delta.bots,
    h: delta.humans,
    l: delta.lastEventMs,
    d: [...delta.byDomain],
    u: [...delta.byUser],
    y: [...delta.byType],
    m: [...delta.byMinute].map(([minute, counts]) => [minute, minuteJson(counts)]),
  };
  return JSON.stringify(json);
}

export function decodeDelta(text: string): StatsDelta {
  const json = JSON.parse(text) as DeltaJson;
  const delta = new StatsDelta();
  delta.total = json.t;
  delta.rejected = json.r;
  delta.bots = json.b;
  delta.humans = json.h;
  delta.lastEventMs = json.l;
  for (const [key, n] of json.d) delta.byDomain.set(key, n);
  for (const [key, n] of json.u) delta.byUser.set(key, n);
  for (const [key, n] of json.y) delta.byType.set(key, n);
  for (const [minute, counts] of json.m) delta.byMinute.set(minute, minuteFrom(counts));
  return delta;
}

function minuteJson(counts: MinuteCountsLike): MinuteJson {
  return {
    t: counts.total,
    b: counts.bots,
    h: counts.humans,
    d: [...counts.byDomain] as Array<[string, number]>,
    u: [...counts.byUser] as Array<[string, number]>,
    y: [...counts.byType] as Array<[string, number]>,
  };
}

function minuteFrom(json: MinuteJson): MinuteCounts {
  const counts = new MinuteCounts();
  counts.merge({
    total: json.t,
    bots: json.b,
    humans: json.h,
    byDomain: json.d,
    byUser: json.u,
    byType: json.y,
  });
  return counts;
}
