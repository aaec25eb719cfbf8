import { connect, type Socket } from 'node:net';
import { EventSource } from 'eventsource';
import { Hono } from 'hono';
import { describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '../../test/support/wait-for.js';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { planBatch } from '../stats/batch-plan.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import type { RecentChange } from '../wikimedia/event-schema.js';
import { createHttpApp } from './app.js';
import { startHttpServer } from './server.js';
import { mountStatsStream, type StatsStreamOptions } from './stats-stream.js';

const log = createLogger({ level: 'silent' });
const partition = { topic: 't', partition: 0 };

function change(n: number, user = `User ${n}`): RecentChange {
  return {
    meta: {
      id: `id-${n}`,
      domain: 'en.wikipedia.org',
      dt: new Date(Date.UTC(2026, 6, 17, 13, 0, n)).toISOString(),
    },
    type: 'edit',
    user,
    bot: false,
    title: `Page ${n}`,
  } as unknown as RecentChange;
}

async function count(store: MemoryStatsStore, events: readonly RecentChange[]): Promise<void> {
  const position = await store.position(partition);
  const records = events.map((event, i) => ({ offset: position.nextOffset + i, event }));
  await store.apply(planBatch(partition, position, records, position.nextOffset + records.length));
}

/** An EventSource client that records every `stats` message with its arrival time. */
function listen(url: string): { messages: Array<{ at: number; data: string }>; source: EventSource } {
  const messages: Array<{ at: number; data: string }> = [];
  const source = new EventSource(url);
  source.addEventListener('stats', (event) => messages.push({ at: performance.now(), data: event.data }));
  onTestFinished(() => source.close());
  return { messages, source };
}

/** The stream alone on a small app, with a render we control; on an ephemeral port. */
async function streamServer(options: Omit<StatsStreamOptions, 'log'>) {
  const app = new Hono();
  const stream = mountStatsStream(app, { ...options, log });
  const server = await startHttpServer(app, '127.0.0.1', 0);
  onTestFinished(() => server.close());
  return { stream, server, base: `http://127.0.0.1:${server.port}` };
}

describe('/stats/stream over real sockets', () => {
  it('sends what /stats answers on connect and again when it changes; 400 JSON on bad parameters', async () => {
    const store = new MemoryStatsStore(1_000);
    await count(store, [change(1), change(2)]);
    const app = createHttpApp({ store, ready: async () => true, log, webRoot: '/nonexistent' });
    const server = await startHttpServer(app, '127.0.0.1', 0);
    onTestFinished(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;

    const { messages } = listen(`${base}/stats/stream?limit=1`);
    await waitFor(() => messages.length >= 1, { message: 'the first view' });
    const stats = async () => (await fetch(`${base}/stats?limit=1`)).text();
    expect(messages[0]?.data).toBe(await stats());
    expect(JSON.parse(messages[0]?.data ?? '{}')).toMatchObject({ total: 2, limit: 1 });

    await count(store, [change(3, 'User 1')]);
    await waitFor(() => messages.length >= 2, { message: 'the changed view' });
    expect(messages[1]?.data).toBe(await stats());
    expect(JSON.parse(messages[1]?.data ?? '{}')).toMatchObject({ total: 3, by_user: { 'User 1': 2 } });

    for (const bad of ['limit=0', 'window=25h', 'bogus=1', 'limit=1&limit=2']) {
      const response = await fetch(`${base}/stats/stream?${bad}`);
      expect(response.status, bad).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toMatchObject({ error: 'bad_request' });
      const same = await fetch(`${base}/stats?${bad}`);
      expect(same.status, bad).toBe(400);
    }
    // A wiki never counted: the 404 /stats gives, not a stream.
    const unknown = await fetch(`${base}/stats/stream?domain=nowhere.example.org`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });
  });

  it('sends at most one message a second per client, rendering each distinct query once a tick', async () => {
    let renders = 0;
    // A view that changes on every render: the tick alone limits how often clients hear of it.
    const { stream, base } = await streamServer({
      render: async (query) => new Response(JSON.stringify({ query, n: ++renders })),
    });
    const started = performance.now();
    const clients = [
      listen(`${base}/stats/stream?limit=5&window=5m`),
      listen(`${base}/stats/stream?window=5m&limit=5`),
      listen(`${base}/stats/stream?limit=5&window=5m`),
    ];
    await waitFor(() => clients.every((c) => c.messages.length >= 4), {
      message: 'four messages on every client',
    });
    const elapsed = performance.now() - started;
    expect(stream.stats()).toMatchObject({ clients: 3, queries: 1 });
    for (const { messages } of clients) {
      // n messages need n - 1 ticks after the first, each at least a second after the last.
      expect(messages.length - 1).toBeLessThanOrEqual(elapsed / 1_000);
    }
    // One render per connect, then one per tick for the three clients together.
    const ticks = Math.floor(elapsed / 1_000);
    expect(renders).toBeLessThanOrEqual(3 + ticks);
  });

  it('re-renders a window longer than an hour at most every 10 s, while a short one renders every tick', async () => {
    const renders = new Map<string, number>();
    const { base } = await streamServer({
      render: async (query) => {
        renders.set(query, (renders.get(query) ?? 0) + 1);
        return new Response(JSON.stringify({ query, n: renders.get(query) }));
      },
    });
    const short = listen(`${base}/stats/stream?window=5m`);
    const long = listen(`${base}/stats/stream?window=6h`);
    // Three ticks of the short window: the long one has had its first view and nothing more.
    await waitFor(() => short.messages.length >= 4, { message: 'four views of the short window' });
    expect(long.messages).toHaveLength(1);
    expect(renders.get('window=6h')).toBe(1);
    expect(renders.get('window=5m')).toBeGreaterThanOrEqual(4);
  });

  it('drops a client that stops reading, and no longer holds its bytes', async () => {
    const pad = 'x'.repeat(4 << 20);
    let n = 0;
    const { stream, base, server } = await streamServer({
      // 4 MiB a second for the stalled client fills the loopback's socket buffers within seconds.
      render: async (query) =>
        new Response(query === 'q=big' ? `{"n":${++n},"pad":"${pad}"}` : `{"n":${++n}}`),
    });
    const reader = listen(`${base}/stats/stream?q=small`);

    const stalled = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('GET /stats/stream?q=big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      });
      socket.once('data', () => {
        socket.pause(); // reads nothing more, keeps the connection open
        resolve(socket);
      });
      socket.once('error', reject);
    });
    onTestFinished(() => {
      stalled.destroy();
    });
    await waitFor(() => stream.stats().clients === 2, { message: 'both clients connected' });
    let mostBuffered = 0;
    const sampler = setInterval(() => {
      mostBuffered = Math.max(mostBuffered, stream.stats().bufferedBytes);
    }, 5);
    onTestFinished(() => clearInterval(sampler));

    await waitFor(() => stream.stats().clients === 1, {
      timeoutMs: 45_000,
      message: 'the stalled client dropped',
    });
    expect(stream.stats().queries).toBe(1);
    // While it stalled it held at most one frame beyond the socket's high-water mark (64 KiB at most).
    expect(mostBuffered).toBeGreaterThan(0);
    expect(mostBuffered).toBeLessThanOrEqual(pad.length + 100 + 64 * 1024);
    // Only the reading client is left, and it drains what it is sent.
    await waitFor(() => stream.stats().bufferedBytes === 0, { message: 'nothing buffered' });
    const before = reader.messages.length;
    await waitFor(() => reader.messages.length > before, { message: 'the reader still served' });
  });

  it('sends a keep-alive comment on a quiet stream', async () => {
    const { base } = await streamServer({
      render: async () => new Response('{"same":true}'),
      keepaliveMs: 1_500,
    });
    const response = await fetch(`${base}/stats/stream`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    onTestFinished(() => reader.cancel());
    let text = '';
    await waitFor(
      async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        return text.includes(': keepalive\n\n');
      },
      { message: 'a keep-alive comment' },
    );
    // The unchanged view is sent once, then only comments.
    expect(text).toBe('event: stats\ndata: {"same":true}\n\n: keepalive\n\n');
  });

  it('answers 503 past the client bound, and closing the server ends every stream', async () => {
    const { stream, base, server } = await streamServer({
      render: async () => new Response('{}'),
      maxClients: 1,
    });
    const first = listen(`${base}/stats/stream`);
    await waitFor(() => first.messages.length === 1, { message: 'the first client served' });
    const second = await fetch(`${base}/stats/stream`);
    expect(second.status).toBe(503);
    expect(await second.json()).toMatchObject({ error: 'unavailable' });

    await server.close(); // resolves only once every connection, streams included, has ended
    await waitFor(() => stream.stats().clients === 0, { message: 'the stream forgotten' });
    expect(stream.stats()).toEqual({ clients: 0, queries: 0, bufferedBytes: 0 });
  });
});

describe('STREAM_MAX_CLIENTS', () => {
  it('defaults to 1,000 and refuses what is not a whole number from 1', () => {
    expect(loadConfig({}).stream.maxClients).toBe(1_000);
    expect(loadConfig({ STREAM_MAX_CLIENTS: '5' }).stream.maxClients).toBe(5);
    expect(() => loadConfig({ STREAM_MAX_CLIENTS: '0' })).toThrow(/STREAM_MAX_CLIENTS must be at least 1/);
  });
});
