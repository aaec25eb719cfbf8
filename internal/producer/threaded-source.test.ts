import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/capturing-logger.js';
import { SHARED_EVENTS_DIR } from '../../test/support/paths.js';
import { waitFor } from '../../test/support/wait-for.js';
import { loadConfig } from '../config/config.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { ReplayServer } from '../replay/replay-server.js';
import { InProcessSource, type ProducerSourceHandlers } from './producer-source.js';
import { ThreadedSource } from './threaded-source.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Recorded events with rejected ones among them (not JSON, not the schema) and a canary. */
function streamEvents(): string[] {
  const events = readRecordedEvents([SHARED_EVENTS_DIR]).slice(0, 1_500);
  events.splice(100, 0, '{not json');
  events.splice(700, 0, JSON.stringify({ meta: { id: 'x', dt: 'yesterday', domain: 'a.org' } }));
  events.splice(900, 0, JSON.stringify({ meta: { id: 'c', dt: '2026-01-01T00:00:00Z', domain: 'canary' } }));
  return events;
}
const HANDED_OVER = 1_502; // all but the canary

/** A replay server of `streamEvents()`, closed after the test. */
async function startServer(ratePerSec: number) {
  const server = new ReplayServer({
    events: streamEvents(),
    ratePerSec,
    dropEvery: 0,
    loop: false,
    retime: false,
  });
  const url = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, url };
}

/** Handlers that keep everything handed over, as text, in order, and resume after the last. */
function collecting(): { got: string[][]; handlers: ProducerSourceHandlers } {
  const got: string[][] = [];
  let cursor: string | undefined;
  const handlers: ProducerSourceHandlers = {
    onEvent: (eventId, raw, sseId) => {
      got.push(['event', eventId.toString(), raw.toString(), sseId]);
      cursor = sseId;
    },
    onInvalid: (rejected, raw, sseId) => {
      got.push(['invalid', rejected.reason, raw, sseId]);
      cursor = sseId;
    },
    cursor: () => cursor,
  };
  return { got, handlers };
}

/** Everything a source hands over, as text, in order; `pauseAt`: pause and resume after that many. */
async function readAll(kind: 'in-process' | 'threaded', pauseAt?: number): Promise<string[][]> {
  // Paced when pausing, so the pause lands mid-stream (1,000 events/s: 1.5 s in all).
  const { server, url } = await startServer(pauseAt === undefined ? 0 : 1_000);
  const options = loadConfig({ WIKIPEDIA_STREAM_URL: url }).source;
  const { got, handlers } = collecting();
  const { log } = capturingLogger();
  const fatal: Error[] = [];
  const source =
    kind === 'threaded'
      ? new ThreadedSource(options, handlers, log, { level: 'silent', pretty: false }, 100_000, (err) =>
          fatal.push(err),
        )
      : new InProcessSource(options, handlers, log);
  source.start();
  if (pauseAt !== undefined) {
    await waitFor(() => got.length >= pauseAt, { message: `${pauseAt} events before the pause` });
    source.pause();
    expect(source.isPaused).toBe(true);
    source.resume();
    // Resuming always reconnects, whether or not the stream had more to send.
    await waitFor(() => server.connections.length >= 2, { message: 'the reconnect after the pause' });
  }
  await waitFor(() => got.length >= HANDED_OVER, { message: 'every event but the canary handed over' });
  await source.stop();
  expect(fatal).toEqual([]);
  if (pauseAt !== undefined) {
    // The reconnect resumed after an event handed over, one at or past where the pause came.
    expect(server.connections).toHaveLength(2);
    const resumedAfter = got.findIndex((e) => e[3] === server.connections[1]?.lastEventId);
    expect(resumedAfter).toBeGreaterThanOrEqual(pauseAt - 1);
  }
  return got;
}

describe('ThreadedSource: the stream read on a thread of its own', () => {
  it('hands over what the in-process source does: the same events, bytes, rejections and cursors, in order', async () => {
    const here = await readAll('in-process');
    const threaded = await readAll('threaded');
    expect(threaded).toHaveLength(HANDED_OVER);
    expect(threaded).toEqual(here);
    expect(threaded.filter((e) => e[0] === 'invalid').map((e) => e[1])).toEqual(['invalid_json', 'schema']);
  });

  it('resumes after the last event it handed over when paused mid-stream: nothing lost, nothing twice', async () => {
    const here = await readAll('in-process');
    const paused = await readAll('threaded', 300);
    expect(paused).toEqual(here);
  });

  it('never hands over more unacknowledged events than PRODUCER_MAX_IN_FLIGHT, and goes on as they are released', async () => {
    const here = await readAll('in-process');
    const { server, url } = await startServer(0);
    const { got, handlers } = collecting();
    const { log } = capturingLogger();
    const source = new ThreadedSource(
      loadConfig({ WIKIPEDIA_STREAM_URL: url }).source,
      handlers,
      log,
      { level: 'silent', pretty: false },
      50,
      (err) => {
        throw err;
      },
    );
    cleanups.push(() => source.stop());
    source.start();
    await waitFor(() => got.length >= 50, { message: 'the first 50 events' });
    // The stream is read at full speed: had the thread read on, more would have arrived by now.
    await waitFor(() => server.connections.length >= 1, { message: 'the first connection' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got).toHaveLength(50);
    source.released(30);
    await waitFor(() => got.length >= 80, { message: '30 more once 30 were released' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got).toHaveLength(80);
    source.released(HANDED_OVER);
    await waitFor(() => got.length >= HANDED_OVER, { message: 'the rest once released' });
    expect(got).toEqual(here); // resumed after the last event handed over each time
  });
});
