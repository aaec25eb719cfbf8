import { auth, policies, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.js';
import { cassandraClientOptions, describeCassandra } from './client-options.js';

describe('Cassandra client options', () => {
  it('CASSANDRA_CONTACT_POINTS alone is enough: defaults for data center, keyspace, no credentials', () => {
    const config = loadConfig({ CASSANDRA_CONTACT_POINTS: 'localhost:9042' });
    const options = cassandraClientOptions(config.cassandra);
    expect(options).toMatchObject({ contactPoints: ['localhost:9042'], localDataCenter: 'datacenter1' });
    expect(options.authProvider).toBeUndefined();
    expect(options.keyspace).toBeUndefined();
    expect(options.queryOptions).toMatchObject({
      prepare: true,
      isIdempotent: false,
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
    });
    expect(options.socketOptions).toMatchObject({ connectTimeout: 5_000, readTimeout: 12_000 });
    expect(options.policies?.reconnection).toBeInstanceOf(
      policies.reconnection.ExponentialReconnectionPolicy,
    );
  });

  it('credentials go to the auth provider and never into what is logged', () => {
    const config = loadConfig({
      CASSANDRA_CONTACT_POINTS: 'c1:9042,c2',
      CASSANDRA_LOCAL_DC: 'eu-west',
      CASSANDRA_USERNAME: 'stats',
      CASSANDRA_PASSWORD: 'hunter2-secret',
    });
    const options = cassandraClientOptions(config.cassandra);
    expect(options.authProvider).toBeInstanceOf(auth.PlainTextAuthProvider);
    expect(options.localDataCenter).toBe('eu-west');
    const logged = JSON.stringify(describeCassandra(config.cassandra));
    expect(logged).not.toContain('hunter2-secret');
    expect(logged).not.toContain('stats');
    expect(JSON.parse(logged)).toEqual({
      contactPoints: ['c1:9042', 'c2'],
      localDataCenter: 'eu-west',
      keyspace: 'wikistream',
      authenticated: true,
    });
  });
});
