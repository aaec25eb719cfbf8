import { randomUUID } from 'node:crypto';
import { type Client, errors, type QueryOptions, type types } from 'cassandra-driver';
import { expect, vi } from 'vitest';
import type { Logger } from '../../../log/logger.js';
import type { RecentChange } from '../../../wikimedia/event-schema.js';
import { CassandraStatsStore, type CassandraStoreOptions } from '../../cassandra-store.js';
import type { StatsStore } from '../../stats-store.js';
import { CONTRACT_DEDUP_WINDOW, type StoreInstance, type StoreWorld } from '../../store-contract.js';

type BatchFn = (
  queries: Array<{ query: string; params?: unknown[] }>,
  options?: QueryOptions,
) => Promise<types.ResultSet>;

export interface CassandraWorldOptions {
  /** A new driver client per store instance: each instance is a consumer process of its own. */
  readonly newClient: () => Client;
  readonly keyspace: string;
  readonly log: Logger;
  readonly store?: Partial<CassandraStoreOptions>;
}

/** Opens a started store on `topic`, the way the consumer does (schema applied if missing). */
export async function openCassandraStore(options: CassandraWorldOptions, topic: string) {
  const client = options.newClient();
  const store = new CassandraStatsStore(client, {
    keyspace: options.keyspace,
    topic,
    dedupWindow: CONTRACT_DEDUP_WINDOW,
    applySchema: true,
    // Tests bring views up to date with sync()/refresh(); a timer would only add noise.
    refreshIntervalMs: 3_600_000,
    retryMinMs: 50,
    retryMaxMs: 500,
    log: options.log,
    ...options.store,
  });
  try {
    await store.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  return { client, store };
}

/**
 * A contract world on Cassandra: a fresh topic (so fresh partitions) per test in a shared
 * keyspace; instances are separate clients. Faults are injected at the driver's `batch`: the store
 * sees what a network failure gives it.
 */
export function cassandraWorld(options: CassandraWorldOptions): () => Promise<StoreWorld> {
  return async () => {
    const topic = `contract-${randomUUID().slice(0, 8)}`;
    return {
      topic,
      async open(): Promise<StoreInstance> {
        const { client, store } = await openCassandraStore(options, topic);
        const realBatch = client.batch.bind(client) as BatchFn;
        let fault: 'before-write' | 'after-write' | undefined;
        vi.spyOn(client as unknown as { batch: BatchFn }, 'batch').mockImplementation(
          async (queries, opts) => {
            const now = fault;
            fault = undefined;
            if (now === 'before-write')
              throw new errors.NoHostAvailableError({}, 'injected: request not sent');
            const result = await realBatch(queries, opts);
            if (now === 'after-write')
              throw new errors.OperationTimedOutError('injected: acknowledgement lost');
            return result;
          },
        );
        return {
          store,
          failNextApply: (when) => {
            fault = when;
          },
          sync: () => store.refresh(),
          close: () => store.close(),
        };
      },
    };
  };
}

/**
 * Two stores answer every read alike over `events`' wikis and users: all time, windows to 24 h,
 * drill-downs and pages. For views that must agree (a reader that loaded and followed vs the writer).
 */
export async function expectSameAnswers(
  store: StatsStore,
  reference: StatsStore,
  events: readonly RecentChange[],
): Promise<void> {
  const limit = Number.POSITIVE_INFINITY;
  expect(await store.read(limit)).toEqual(await reference.read(limit));
  for (const minutes of [1, 60, 90, 24 * 60]) {
    expect(await store.readWindow?.(minutes, limit)).toEqual(await reference.readWindow?.(minutes, limit));
    expect(await store.readPages?.({ minutes, limit })).toEqual(
      await reference.readPages?.({ minutes, limit }),
    );
  }
  const domains = new Set(events.map((e) => e.meta.domain));
  const users = new Set(events.flatMap((e) => (e.user === undefined ? [] : [e.user])));
  for (const query of [{ limit }, { limit, minutes: 90 }]) {
    for (const domain of domains) {
      expect(await store.readDomain?.(domain, query)).toEqual(await reference.readDomain?.(domain, query));
    }
    for (const user of users) {
      expect(await store.readUser?.(user, query)).toEqual(await reference.readUser?.(user, query));
    }
  }
}
