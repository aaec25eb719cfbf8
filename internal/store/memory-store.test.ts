import { describe, expect, it } from 'vitest';
import { WikistreamError } from '../errors.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import type {
  DomainView,
  DrillQuery,
  PagesQuery,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
} from '../stats/stats-views.js';
import { MemoryStatsStore, type MemoryStoreSnapshot } from './memory-store.js';
import type { ApplyResult, StatsStore } from './stats-store.js';
import {
  CONTRACT_DEDUP_WINDOW,
  planFor,
  realEvents,
  runStoreContract,
  type StoreInstance,
  type StoreWorld,
} from './store-contract.js';

/**
 * Injects the two failures a write can have: nothing stored ('before-write'), or stored with the
 * acknowledgement lost ('after-write'). Everything else is the real store.
 */
class FaultyStore implements StatsStore {
  failNext: 'before-write' | 'after-write' | undefined;

  constructor(readonly inner: MemoryStatsStore) {}

  position(partition: PartitionKey): Promise<PartitionPosition> {
    return this.inner.position(partition);
  }

  async apply(plan: BatchPlan): Promise<ApplyResult> {
    const fault = this.failNext;
    this.failNext = undefined;
    if (fault === 'before-write') throw injected();
    const result = await this.inner.apply(plan);
    if (fault === 'after-write') throw injected();
    return result;
  }

  release(partitions: readonly PartitionKey[]): void {
    this.inner.release(partitions);
  }

  read(limit: number): Promise<StatsView> {
    return this.inner.read(limit);
  }

  readWindow(minutes: number, limit: number): Promise<StatsWindowView> {
    return this.inner.readWindow(minutes, limit);
  }

  readDomain(domain: string, query: DrillQuery): Promise<DomainView | undefined> {
    return this.inner.readDomain(domain, query);
  }

  readUser(user: string, query: DrillQuery): Promise<UserView | undefined> {
    return this.inner.readUser(user, query);
  }

  readPages(query: PagesQuery): Promise<PagesView> {
    return this.inner.readPages(query);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function injected(): WikistreamError {
  return new WikistreamError('STORE_UNAVAILABLE', 'injected write failure', { retriable: true });
}

/** The memory store's durable state is its checkpoint: JSON text, as the checkpoint file holds it. */
async function memoryWorld(): Promise<StoreWorld> {
  let checkpoint: string | undefined;
  return {
    topic: 'wikipedia.changes',
    async open(): Promise<StoreInstance> {
      const store = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
      if (checkpoint !== undefined) store.restore(JSON.parse(checkpoint) as MemoryStoreSnapshot);
      const faulty = new FaultyStore(store);
      return {
        store: faulty,
        failNextApply: (when) => {
          faulty.failNext = when;
        },
        sync: async () => {
          checkpoint = JSON.stringify(store.snapshot());
        },
        close: () => faulty.close(),
      };
    },
  };
}

runStoreContract('memory', memoryWorld, { sharedState: false, countKinds: true });

describe('MemoryStatsStore snapshot/restore', () => {
  const p0 = { topic: 'wikipedia.changes', partition: 0 };
  const p1 = { topic: 'wikipedia.changes', partition: 1 };

  async function filled(): Promise<MemoryStatsStore> {
    const store = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
    const events = realEvents(0, 60);
    await store.apply(await planFor(store, p0, events.slice(0, 25), 0));
    await store.apply(await planFor(store, p1, events.slice(25, 50), 0));
    await store.apply(await planFor(store, p0, events.slice(50, 60), 25));
    return store;
  }

  it('round-trips through JSON: counts, windows, positions and dedup windows', async () => {
    const original = await filled();
    const copy = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
    copy.restore(JSON.parse(JSON.stringify(original.snapshot())) as MemoryStoreSnapshot);

    expect(await copy.read(Number.POSITIVE_INFINITY)).toEqual(await original.read(Number.POSITIVE_INFINITY));
    expect(await copy.readWindow(60, 10)).toEqual(await original.readWindow(60, 10));
    const ids = realEvents(0, 60).map((e) => e.meta.id);
    for (const p of [p0, p1]) {
      const [a, b] = [await original.position(p), await copy.position(p)];
      expect(b.nextOffset).toBe(a.nextOffset);
      expect(ids.filter((id) => b.hasSeen(id))).toEqual(ids.filter((id) => a.hasSeen(id)));
    }
    expect(copy.snapshot()).toEqual(original.snapshot());
  });

  it('a restored store continues exactly like the original', async () => {
    const original = await filled();
    const copy = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
    copy.restore(original.snapshot());
    // Redelivery overlapping the position, plus new events, applied to both.
    const next = realEvents(40, 40);
    for (const store of [original, copy]) {
      expect(await store.apply(await planFor(store, p1, next, 15))).toBe('applied');
    }
    expect(await copy.read(Number.POSITIVE_INFINITY)).toEqual(await original.read(Number.POSITIVE_INFINITY));
    expect((await copy.position(p1)).nextOffset).toBe(55);
  });

  it('restore replaces the state instead of merging into it', async () => {
    const empty = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW).snapshot();
    const store = await filled();
    store.restore(empty);
    expect((await store.read(10)).total).toBe(0);
    expect((await store.position(p0)).nextOffset).toBe(0);
  });
});
