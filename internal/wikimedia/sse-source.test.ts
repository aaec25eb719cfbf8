import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { capturingLogger } from '../../test/support/capturing-logger.js';
import { waitFor } from '../../test/support/wait-for.js';
import { drainedOrClosed } from '../replay/replay-server.js';
import { FRAMING_SLACK_BYTES, SKIP_FACTOR } from './event-size-guard.js';
import { type SourceOptions, WikimediaSource } from './sse-source.js';

/** One connection's script: what the server writes; it may keep writing until the client leaves. */
type Script = (res: ServerResponse) => Promise<void> | void;

/**
 * A tiny raw SSE server: connection N runs `scripts[N]` (the last one for any later connection)
 * and records the request headers, so a test sees exactly what the client sent back.
 */
async function rawSseServer(scripts: Script[]) {
  const requests: IncomingMessage['headers'][] = [];
  const server = createServer((req, res) => {
    const script = scripts[Math.min(requests.length, scripts.length - 1)] as Script;
    requests.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    void Promise.resolve(script(res)).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v2/stream/recentchange`, requests };
}

function event(n: number): string {
  return JSON.stringify({
    meta: { id: `event-${n}`, dt: '2026-07-17T13:00:00Z', domain: 'en.wikipedia.org' },
    type: 'edit',
    user: `user-${n}`,
    bot: false,
  });
}

const frame = (id: string | undefined, n: number) =>
  `event: message\n${id === undefined ? '' : `id: ${id}\n`}data: ${event(n)}\n\n`;

/** Writes `frames` and closes the connection, as a proxy cutting it would. */
const sendAndClose =
  (...frames: string[]): Script =>
  (res) => {
    res.end(frames.join(''));
  };

/** Writes `frames`, then stays open (a live stream with nothing new). */
const sendAndStay =
  (...frames: string[]): Script =>
  (res) => {
    res.write(frames.join(''));
  };

/** A source whose caller persists the id of each handled event, as the pipelines do. */
function startSource(url: string, options: Partial<SourceOptions> = {}, initialCursor?: string) {
  const { log, lines } = capturingLogger('warn');
  const handled: Array<{ eventId: string | undefined; id: string; rejected?: string }> = [];
  let cursor = initialCursor;
  const source = new WikimediaSource(
    {
      url,
      contact: 'https://example.org/test',
      idleTimeoutMs: 60_000,
      reconnectMinMs: 10,
      reconnectMaxMs: 50,
      maxEventBytes: 1_024,
      ...options,
    },
    {
      onEvent: (e, _raw, id) => {
        handled.push({ eventId: e.meta.id, id });
        cursor = id;
      },
      onInvalid: (rejected, _raw, id) => {
        handled.push({ eventId: rejected.id, id, rejected: rejected.reason });
        cursor = id;
      },
      cursor: () => cursor,
    },
    log,
  );
  source.start();
  onTestFinished(() => source.stop());
  return { source, handled, lines, cursor: () => cursor };
}

describe('WikimediaSource against hostile ids', () => {
  it('ignores a non-ASCII id with a warning, keeps the last usable cursor and goes on', async () => {
    const server = await rawSseServer([
      sendAndClose(frame('[{"offset":1}]', 1), frame('[{"offset":2,"x":"\u{1F600}"}]', 2)),
      sendAndStay(frame('[{"offset":3}]', 3)),
    ]);
    const { handled, lines, source } = startSource(server.url);
    await waitFor(() => handled.some((h) => h.eventId === 'event-3'), {
      message: 'the event after the reconnect',
      timeoutMs: 10_000,
    });
    // The emoji id never became the cursor: the reconnect resumed after the last usable id.
    expect(handled.find((h) => h.eventId === 'event-2')?.id).toBe('[{"offset":1}]');
    expect(server.requests[1]?.['last-event-id']).toBe('[{"offset":1}]');
    expect(source.counters.idsIgnored).toBe(1);
    expect(lines.some((l) => String(l.msg).startsWith('SSE id unusable as a cursor'))).toBe(true);
    expect(JSON.stringify(lines)).toContain('U+1F600');
  });

  // `ignoredByUs`: eventsource 5 follows the spec for `lastEventId` (the last id *set*, which an
  // event without an id, or with a NUL in its id, leaves unchanged), so those two never reach our
  // check; an empty or oversized id does, and is ignored and counted by us.
  it.each([
    ['no id', undefined, false],
    ['an empty id', '', true],
    ['an id with NUL', 'a\u0000b', false],
    ['an id of 3,000 characters', 'x'.repeat(3_000), true],
  ])('keeps the last usable cursor after an event with %s', async (_name, badId, ignoredByUs) => {
    const server = await rawSseServer([
      sendAndClose(frame('good-1', 1), frame(badId, 2)),
      sendAndStay(frame('good-3', 3)),
    ]);
    const { handled, source } = startSource(server.url);
    await waitFor(() => handled.some((h) => h.eventId === 'event-3'), {
      message: 'the event after the reconnect',
      timeoutMs: 10_000,
    });
    expect(server.requests[1]?.['last-event-id']).toBe('good-1');
    expect(handled.find((h) => h.eventId === 'event-2')?.id).toBe('good-1');
    expect(source.counters.idsIgnored).toBe(ignoredByUs ? 1 : 0);
  });

  it('never sends an empty Last-Event-ID when no usable id was ever seen', async () => {
    const server = await rawSseServer([sendAndClose(frame(undefined, 1)), sendAndStay(frame('good-2', 2))]);
    const { handled } = startSource(server.url);
    await waitFor(() => handled.some((h) => h.eventId === 'event-2'), {
      message: 'the event after the reconnect',
      timeoutMs: 10_000,
    });
    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) expect(request).not.toHaveProperty('last-event-id');
  });

  it('does not send an unusable saved cursor: it starts live with a warning', async () => {
    const server = await rawSseServer([sendAndStay(frame('good-1', 1))]);
    const { handled, lines } = startSource(server.url, {}, 'caf\u00e9 \u{1F600}');
    await waitFor(() => handled.length === 1, { message: 'the first event', timeoutMs: 10_000 });
    expect(server.requests[0]).not.toHaveProperty('last-event-id');
    expect(lines.some((l) => l.msg === 'unusable cursor not sent as Last-Event-ID')).toBe(true);
  });
});

describe('WikimediaSource against an event that never ends', () => {
  it('drops the connection once the event passes SKIP_FACTOR x the limit, rejects it, resumes after it', async () => {
    const maxEventBytes = 1_024;
    const limit = maxEventBytes + FRAMING_SLACK_BYTES;
    let endlessBytesSent = 0;
    const endless: Script = async (res) => {
      // Two good events in the same write as the start of the endless one: they must survive.
      res.write(`${frame('good-1', 1)}${frame('good-2', 2)}event: message\nid: endless-3\ndata: {"meta":"`);
      const chunk = 'x'.repeat(16 * 1024);
      // Until the client hangs up; capped so a broken client fails the test instead of the machine.
      while (!res.destroyed && endlessBytesSent < 64 * limit) {
        endlessBytesSent += chunk.length;
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
    };
    const server = await rawSseServer([endless, sendAndStay(frame('good-4', 4))]);
    const { handled, source } = startSource(server.url, { maxEventBytes });
    await waitFor(() => handled.some((h) => h.eventId === 'event-4'), {
      message: 'the event after the endless one',
      timeoutMs: 15_000,
    });
    expect(handled.map((h) => h.rejected ?? h.eventId)).toEqual([
      'event-1',
      'event-2',
      'too_large',
      'event-4',
    ]);
    // Rejected under its own id, so the reconnect resumed after it, not before it (no loop).
    expect(handled[2]?.id).toBe('endless-3');
    expect(server.requests[1]?.['last-event-id']).toBe('endless-3');
    expect(source.counters.oversizedDrops).toBe(1);
    // Bounded: the parser never held more than the limit of the unfinished event, whatever was sent.
    expect(source.largestPendingEventBytes).toBeLessThanOrEqual(limit);
    expect(endlessBytesSent).toBeGreaterThan(limit);
  });

  // Skipped in the stream, not by reconnecting: without an id before its data, a resume could
  // only start before it, and the server would send it again, for ever.
  it.each([
    ['no id at all', (data: string) => `event: message\ndata: ${data}\n\n`, 'good-1'],
    ['its id after its data', (data: string) => `event: message\ndata: ${data}\nid: late-2\n\n`, 'good-1'],
    ['its id before its data', (data: string) => `event: message\nid: big-2\ndata: ${data}\n\n`, 'big-2'],
  ])(
    'skips an oversized event with %s in place and goes on, on the same connection',
    async (_, big, cursorAfterBig) => {
      const maxEventBytes = 1_024;
      const limit = maxEventBytes + FRAMING_SLACK_BYTES;
      // Over 2 x 64 KiB (a socket read at most) plus the limit: the guard sees it pass the limit.
      const huge = big(`{"meta":"${'x'.repeat(10 * limit)}"}`);
      const script: Script = async (res) => {
        // The good events share writes with the oversized one, which spans many writes (chunks).
        res.write(`${frame('good-1', 1)}${huge.slice(0, 100)}`);
        for (let at = 100; at < huge.length; at += 7_000) {
          if (!res.write(huge.slice(at, at + 7_000))) await drainedOrClosed(res);
        }
        res.write(`${frame('good-3', 3)}${frame('good-4', 4)}`);
      };
      const server = await rawSseServer([script]);
      const { handled, source } = startSource(server.url, { maxEventBytes });
      await waitFor(() => handled.some((h) => h.eventId === 'event-4'), {
        message: 'the events after the oversized one',
        timeoutMs: 15_000,
      });
      expect(handled.map((h) => h.rejected ?? h.eventId)).toEqual([
        'event-1',
        'too_large',
        'event-3',
        'event-4',
      ]);
      expect(handled.map((h) => h.id)).toEqual(['good-1', cursorAfterBig, 'good-3', 'good-4']);
      expect(server.requests).toHaveLength(1);
      expect(source.counters.oversizedDrops).toBe(1);
      expect(source.largestPendingEventBytes).toBeLessThanOrEqual(limit);
      expect(huge.length).toBeLessThan(SKIP_FACTOR * limit);
    },
  );

  it('also bounds an event made of endless short data lines', async () => {
    const lines: Script = async (res) => {
      res.write('event: message\nid: many-lines\n');
      let sent = 0;
      while (!res.destroyed && sent < 1_000_000) {
        const chunk = 'data: 0123456789\n'.repeat(256);
        sent += chunk.length;
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
    };
    const server = await rawSseServer([lines, sendAndStay(frame('good-2', 2))]);
    const { handled, source } = startSource(server.url);
    await waitFor(() => handled.some((h) => h.eventId === 'event-2'), {
      message: 'the event after the endless one',
      timeoutMs: 15_000,
    });
    expect(handled[0]).toMatchObject({ rejected: 'too_large', id: 'many-lines' });
    expect(source.largestPendingEventBytes).toBeLessThanOrEqual(1_024 + FRAMING_SLACK_BYTES);
  });
});
