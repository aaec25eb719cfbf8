import { Client } from 'cassandra-driver';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { cassandraClientOptions, describeCassandra } from './cassandra/client-options.js';
import { CassandraStatsStore } from './cassandra-store.js';
import { MemoryStatsStore } from './memory-store.js';

export type CreatedStore =
  | {
      readonly kind: 'memory';
      /** The caller makes it durable (checkpoint of `snapshot()`), as the consumer does. */
      readonly store: MemoryStatsStore;
    }
  | {
      readonly kind: 'cassandra';
      readonly store: CassandraStatsStore;
      /**
       * Resolves once Cassandra answered, the schema is checked and the view is loaded. While
       * Cassandra is unreachable it keeps retrying with backoff (1 s .. 30 s, one error line per
       * attempt) and `store.ping()` rejects, so `/readyz` says false. Rejects only for what
       * retrying cannot fix (schema outdated, bad credentials) or after `store.close()`.
       */
      readonly ready: Promise<void>;
    };

/**
 * The store `STORAGE` names. Cassandra starts connecting at once, in the background: start the
 * HTTP server first (so `/readyz` answers false), then await `ready` before consuming.
 */
export function createStore(
  config: Config,
  log: Logger,
  options: { refreshIntervalMs?: number; retryMinMs?: number; retryMaxMs?: number } = {},
): CreatedStore {
  if (config.storage === 'memory') {
    return { kind: 'memory', store: new MemoryStatsStore(config.dedupWindow) };
  }
  const storeLog = log.child({ component: 'cassandra-store' });
  const client = new Client(cassandraClientOptions(config.cassandra));
  // The driver reports hosts going down and reconnections as 'log' events: warnings once running;
  // while starting, the store's own line per attempt says it already, so they go to debug.
  client.on('log', (level: string, className: string, message: string) => {
    if ((level === 'error' || level === 'warning') && store.isReady)
      storeLog.warn({ driver: className }, message);
    else if (level !== 'verbose') storeLog.debug({ driver: className }, message);
  });
  storeLog.info(describeCassandra(config.cassandra), 'connecting to Cassandra');
  const store = new CassandraStatsStore(client, {
    keyspace: config.cassandra.keyspace,
    topic: config.kafka.topic,
    deadLetterTopic: config.kafka.dlqTopic,
    dedupWindow: config.dedupWindow,
    applySchema: config.cassandra.applySchema,
    log: storeLog,
    ...options,
  });
  const ready = store.start();
  // Callers await `ready`; this only keeps a rejection before they do from counting as unhandled.
  ready.catch(() => {});
  return { kind: 'cassandra', store, ready };
}
