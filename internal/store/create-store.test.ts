import { createServer } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { capturingLogger } from '../../test/support/capturing-logger.js';
import { loadConfig } from '../config/config.js';
import { CassandraStatsStore } from './cassandra-store.js';
import { createStore } from './create-store.js';
import { MemoryStatsStore } from './memory-store.js';

/** A port nothing listens on: bound, then closed again, so connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('createStore', () => {
  it('STORAGE=memory gives the memory store', () => {
    const created = createStore(loadConfig({ STORAGE: 'memory' }), pino({ level: 'silent' }));
    expect(created.kind).toBe('memory');
    expect(created.store).toBeInstanceOf(MemoryStatsStore);
  });

  it('Cassandra unreachable at start: not ready, one clear error line per attempt with backoff, no crash', async () => {
    const port = await closedPort();
    const config = loadConfig({
      STORAGE: 'cassandra',
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${port}`,
      CASSANDRA_USERNAME: 'wikistream',
      CASSANDRA_PASSWORD: 'secret-password-never-logged',
    });
    const { log, lines } = capturingLogger();
    const created = createStore(config, log, { retryMinMs: 50, retryMaxMs: 200 });
    if (created.kind !== 'cassandra') throw new Error('expected the Cassandra store');
    const { store } = created;
    onTestFinished(() => store.close());
    expect(store).toBeInstanceOf(CassandraStatsStore);

    const retries = () =>
      lines.filter((l) => l.msg === 'Cassandra unreachable at start-up; not ready, retrying');
    await until(() => retries().length >= 3, 'three start-up attempts');
    const [first, , third] = retries();
    expect(first).toMatchObject({
      level: 50,
      component: 'cassandra-store',
      attempt: 1,
      err: { code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/Cassandra unreachable/) },
    });
    expect(third).toMatchObject({ attempt: 3, retryInMs: expect.any(Number) });

    // Not ready: /readyz is false and every store call fails retriably, without crashing.
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    await expect(store.read(100)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    await expect(store.position({ topic: 't', partition: 0 })).rejects.toMatchObject({ retriable: true });
    expect(store.isReady).toBe(false);

    // The connection is described once, without credentials.
    const connecting = lines.find((l) => l.msg === 'connecting to Cassandra');
    expect(connecting).toMatchObject({ contactPoints: [`127.0.0.1:${port}`], authenticated: true });
    expect(JSON.stringify(lines)).not.toContain('secret-password-never-logged');

    // close() ends the retry loop: `ready` rejects instead of retrying forever.
    await store.close();
    await expect(created.ready).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const attempts = retries().length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(retries().length).toBe(attempts);
  });
});
