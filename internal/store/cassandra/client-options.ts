import { auth, type ClientOptions, policies, types } from 'cassandra-driver';
import type { Config } from '../../config/config.js';

/**
 * Driver settings, reviewed against cassandra-driver 4.10's defaults:
 * - contactPoints `host[:port]` and localDataCenter from config; the default load balancing
 *   (token-aware over DC-aware round robin) then keeps requests in the local DC.
 * - No `keyspace`: it may not exist before the schema step; statements name it instead.
 * - Credentials only through PlainTextAuthProvider, never in anything logged (see describe()).
 * - Timeouts: connect 5 s; per-request client timeout 12 s (the default), above the server's own
 *   write/CAS timeouts (2 s / 1 s) so the server's answer, which says what happened, comes first.
 * - Pooling: the defaults (protocol v4+: 1 connection per host, 2,048 requests each) are far more
 *   than a consumer needs (a handful of partitions, one batch in flight each); heartbeat 30 s
 *   finds a dead connection between batches.
 * - Reconnection: exponential 1 s .. 30 s (the default caps at 10 min, too slow to notice a
 *   Cassandra that came back).
 * - Retries: the default policy, which retries on write timeouts and client timeouts only for
 *   statements marked `isIdempotent`. Default is non-idempotent; each statement says which it is
 *   (the conditional batch is not: its retry is ours, after re-reading the position).
 * - Consistency LOCAL_QUORUM, serial LOCAL_SERIAL: a write acknowledged is seen by the next read
 *   in the DC, and compare-and-set is linearizable within the DC.
 */
export function cassandraClientOptions(cassandra: Config['cassandra']): ClientOptions {
  return {
    contactPoints: [...cassandra.contactPoints],
    localDataCenter: cassandra.localDataCenter,
    ...(cassandra.credentials
      ? {
          authProvider: new auth.PlainTextAuthProvider(
            cassandra.credentials.username,
            cassandra.credentials.password,
          ),
        }
      : {}),
    socketOptions: { connectTimeout: 5_000, readTimeout: 12_000, keepAlive: true },
    pooling: { heartBeatInterval: 30_000 },
    policies: {
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(1_000, 30_000, false),
      retry: new policies.retry.RetryPolicy(),
    },
    queryOptions: {
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
      prepare: true,
      isIdempotent: false,
    },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 20 },
  };
}

/** What may be logged about the connection: never the password, not even the user name. */
export function describeCassandra(cassandra: Config['cassandra']): Record<string, unknown> {
  return {
    contactPoints: cassandra.contactPoints,
    localDataCenter: cassandra.localDataCenter,
    keyspace: cassandra.keyspace,
    authenticated: cassandra.credentials !== undefined,
  };
}
