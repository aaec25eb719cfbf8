import { Counts, type CountsSnapshot, snapshotCounts } from '../../stats/counts.js';
import { StatsDelta } from '../../stats/stats-delta.js';

/**
 * JSON forms kept in `partition_state.value`: a batch's delta (the 'change' rows other instances
 * follow) and one minute's counts (the 'minute' rows). Short keys: a change row is written with
 * every batch, and user maps dominate its size. `k` holds every kind beyond domain/user/type
 * (pair kinds keyed by `pairKey`); rows written before those kinds existed have no `k` and
 * decode to the three rankings alone, so a rolling upgrade reads the old rows as they are.
 */
interface CountsJson {
  t: number;
  b: number;
  h: number;
  d: Array<[string, number]>;
  u: Array<[string, number]>;
  y: Array<[string, number]>;
  k?: Array<[string, Array<[string, number]>]>;
}

interface DeltaJson extends CountsJson {
  r: number;
  l: number;
  m: Array<[number, CountsJson]>;
}

export function encodeMinute(counts: Counts): string {
  return JSON.stringify(countsJson(counts));
}

export function decodeMinute(text: string): Counts {
  return countsFrom(JSON.parse(text) as CountsJson);
}

export function encodeDelta(delta: StatsDelta): string {
  const json: DeltaJson = {
    ...countsJson(delta),
    r: delta.rejected,
    l: delta.lastEventMs,
    m: [...delta.byMinute].map(([minute, counts]) => [minute, countsJson(counts)]),
  };
  return JSON.stringify(json);
}

export function decodeDelta(text: string): StatsDelta {
  const json = JSON.parse(text) as DeltaJson;
  const delta = new StatsDelta();
  delta.merge(snapshotCounts(snapshotOf(json)));
  delta.rejected = json.r;
  delta.lastEventMs = json.l;
  for (const [minute, counts] of json.m) delta.byMinute.set(minute, countsFrom(counts));
  return delta;
}

function countsJson(counts: Counts): CountsJson {
  const s = counts.snapshot();
  const json: CountsJson = { t: s.total, b: s.bots, h: s.humans, d: s.byDomain, u: s.byUser, y: s.byType };
  if (s.kinds !== undefined && s.kinds.length > 0) json.k = s.kinds;
  return json;
}

function snapshotOf(json: CountsJson): CountsSnapshot {
  return {
    total: json.t,
    bots: json.b,
    humans: json.h,
    byDomain: json.d,
    byUser: json.u,
    byType: json.y,
    ...(json.k === undefined ? {} : { kinds: json.k }),
  };
}

function countsFrom(json: CountsJson): Counts {
  return Counts.fromSnapshot(snapshotOf(json));
}
