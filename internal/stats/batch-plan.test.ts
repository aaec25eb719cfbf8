import { describe, expect, it } from 'vitest';
import type { RecentChange } from '../wikimedia/event-schema.js';
import { planBatch } from './batch-plan.js';
import { DedupWindow } from './dedup-window.js';

const P = { topic: 't', partition: 0 };

function event(id: string, domain = 'en.wikipedia.org', user = 'Alice'): RecentChange {
  return { meta: { id, dt: '2026-05-05T11:17:40.795Z', domain }, user, type: 'edit', bot: false };
}

function position(nextOffset: number, seen: string[] = []) {
  const window = new DedupWindow(100, seen);
  return { nextOffset, hasSeen: (id: string) => window.has(id) };
}

describe('planBatch', () => {
  it('counts new events and advances to the end of the batch', () => {
    const plan = planBatch(
      P,
      position(0),
      [0, 1, 2].map((o) => ({ offset: o, event: event(`e${o}`) })),
      3,
    );
    expect(plan.fromOffset).toBe(0);
    expect(plan.nextOffset).toBe(3);
    expect(plan.delta.total).toBe(3);
    expect(plan.newIds).toEqual(['e0', 'e1', 'e2']);
  });

  it('skips records below the position (redelivery) and ids already counted (duplicates)', () => {
    const records = [
      { offset: 5, event: event('old') },
      { offset: 6, event: event('seen-before') },
      { offset: 7, event: event('new') },
      { offset: 8, event: event('new') },
    ];
    const plan = planBatch(P, position(6, ['seen-before']), records, 9);
    expect(plan).toMatchObject({ fromOffset: 6, nextOffset: 9, redelivered: 1, duplicates: 2 });
    expect(plan.newIds).toEqual(['new']);
    expect(plan.delta.total).toBe(1);
  });

  it('counts rejected records once and never moves the position backwards', () => {
    const plan = planBatch(P, position(10), [{ offset: 10, event: undefined }], 11);
    expect(plan.delta.rejected).toBe(1);
    expect(plan.delta.total).toBe(0);
    const stale = planBatch(P, position(20), [{ offset: 10, event: event('x') }], 11);
    expect(stale.nextOffset).toBe(20);
    expect(stale.delta.total).toBe(0);
  });
});
