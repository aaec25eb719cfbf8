import { describe, expect, it } from 'vitest';
import { planBatch } from '../../stats/batch-plan.js';
import { exploreEvents } from '../store-contract.js';
import { decodeDelta, decodeMinute, encodeDelta, encodeMinute } from './delta-codec.js';

const P = { topic: 'wikipedia.changes', partition: 0 };

describe('delta codec', () => {
  it('a batch delta round-trips with every kind and every minute', () => {
    const events = exploreEvents();
    const records = events.map((event, i) => ({ offset: i, event }));
    const delta = planBatch(P, { nextOffset: 0, hasSeen: () => false }, records, events.length).delta;
    delta.rejected = 2;
    const back = decodeDelta(encodeDelta(delta));
    expect([...back.entries()].sort()).toEqual([...delta.entries()].sort());
    expect([...back.entries()].some(([kind]) => kind === 'user_first')).toBe(true);
    expect(back).toMatchObject({
      total: delta.total,
      rejected: 2,
      bots: delta.bots,
      humans: delta.humans,
      lastEventMs: delta.lastEventMs,
    });
    expect([...back.byMinute.keys()]).toEqual([...delta.byMinute.keys()]);
    for (const [minute, counts] of delta.byMinute) {
      const decoded = decodeMinute(encodeMinute(counts));
      expect([...decoded.entries()].sort()).toEqual([...counts.entries()].sort());
      expect([...(back.byMinute.get(minute)?.entries() ?? [])].sort()).toEqual([...counts.entries()].sort());
      expect([...counts.pairs('page').keys()].length).toBeGreaterThan(0);
    }
  });

  it('rows written before the new kinds (no `k`) decode to the three rankings, as they were', () => {
    const minute = decodeMinute(
      '{"t":3,"b":1,"h":2,"d":[["en.wikipedia.org",3]],"u":[["Alice",2]],"y":[["edit",3]]}',
    );
    expect(minute).toMatchObject({ total: 3, bots: 1, humans: 2 });
    expect([...minute.entries()].sort()).toEqual([
      ['domain', 'en.wikipedia.org', 3],
      ['type', 'edit', 3],
      ['user', 'Alice', 2],
    ]);
    const delta = decodeDelta(
      '{"t":1,"r":0,"b":0,"h":1,"l":1000,"d":[["de.wikipedia.org",1]],"u":[["Bob",1]],"y":[["new",1]],' +
        '"m":[[29000000,{"t":1,"b":0,"h":1,"d":[["de.wikipedia.org",1]],"u":[["Bob",1]],"y":[["new",1]]}]]}',
    );
    expect(delta).toMatchObject({ total: 1, lastEventMs: 1000 });
    expect(delta.get('user', 'Bob')).toBe(1);
    expect(delta.byMinute.get(29000000)?.get('domain', 'de.wikipedia.org')).toBe(1);
  });
});
