import type { ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { Logger } from '../log/logger.js';

/** A change reaches a client at most once per tick, and ticks are this far apart. */
export const STREAM_TICK_MS = 1_000;
/** A comment on an otherwise quiet stream, so proxies and the browser keep the connection. */
export const STREAM_KEEPALIVE_MS = 15_000;
export const DEFAULT_STREAM_MAX_CLIENTS = 1_000;
/**
 * A window longer than the last hour is re-rendered at most this often. Its buckets are 10 minutes
 * wide, and one render walks every distinct key of up to 24 hours (hundreds of ms with a day of the
 * live stream: BENCHMARKS.md): once a second, one such client would cost the pipeline most of a core.
 */
export const STREAM_LONG_WINDOW_TICK_MS = 10_000;

const KEEPALIVE_FRAME = Buffer.from(': keepalive\n\n');
const WRITES_PER_TURN = 100;
const CORS_HEADER = { 'access-control-allow-origin': '*' } as const;

export interface StatsStreamOptions {
  /**
   * What `/stats` answers for this (canonical) query string: the stream sends exactly that body,
   * and answers a non-200 in its place, so its parameters are validated exactly like `/stats`.
   */
  readonly render: (query: string) => Response | Promise<Response>;
  /** Connected clients at most; one more gets a 503. */
  readonly maxClients?: number;
  /** Silence after which a client gets a `: keepalive` comment; STREAM_KEEPALIVE_MS by default. */
  readonly keepaliveMs?: number;
  readonly log?: Logger;
}

/** What the stream holds, for tests and the benchmark. */
export interface StatsStreamHandle {
  /** Connected clients, and bytes written to them that their sockets have not taken yet. */
  stats(): { clients: number; queries: number; bufferedBytes: number };
}

interface Client {
  readonly res: ServerResponse;
  readonly group: QueryGroup;
  /** The frame last sent, compared by identity: a group makes a new frame only on a change. */
  sent: Buffer | undefined;
  /** After its first view, sent on connect, a client waits a whole tick for the next. */
  heldUntil: number;
  wroteAt: number;
}

interface QueryGroup {
  readonly query: string;
  readonly clients: Set<Client>;
  body: string;
  frame: Buffer;
  /** STREAM_TICK_MS, or STREAM_LONG_WINDOW_TICK_MS for a window longer than an hour. */
  readonly renderEveryMs: number;
  renderedAt: number;
}

/**
 * `GET /stats/stream`: Server-Sent Events, like EventStreams. Each client gets `event: stats` with
 * the body `/stats` answers for the same query, on connect and whenever it changes, at most once a
 * tick (1 s); a `: keepalive` comment every 15 s of silence.
 *
 * Cost is bounded by distinct queries, not clients: each tick renders every distinct query once
 * and writes the same bytes to all its clients. Ticks run only while someone is connected.
 *
 * Back-pressure: we write to the Node response directly (not through a web stream, which would
 * queue behind a stalled socket where we could neither see nor bound it). A client whose socket
 * has not drained since our last write is dropped at the next one, so each holds at most its
 * socket's high-water mark plus one frame. Closing the HTTP server ends every stream (server.ts
 * closes all connections), which stops the ticks.
 */
export function mountStatsStream(app: Hono, options: StatsStreamOptions): StatsStreamHandle {
  const maxClients = options.maxClients ?? DEFAULT_STREAM_MAX_CLIENTS;
  const keepaliveMs = options.keepaliveMs ?? STREAM_KEEPALIVE_MS;
  const groups = new Map<string, QueryGroup>();
  let clientCount = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let tickEndedAt = 0;

  const drop = (client: Client): void => {
    if (!client.group.clients.delete(client)) return;
    clientCount--;
    if (client.group.clients.size === 0) groups.delete(client.group.query);
    if (clientCount === 0 && timer) {
      clearTimeout(timer);
      timer = undefined;
    }
  };

  /** False when the client was dropped instead: its socket has not taken our last write. */
  const write = (client: Client, frame: Buffer, now: number): boolean => {
    if (client.res.writableNeedDrain || client.res.destroyed) {
      options.log?.debug({ query: client.group.query }, 'stream client dropped: not reading');
      drop(client);
      client.res.destroy();
      return false;
    }
    client.res.write(frame);
    client.wroteAt = now;
    return true;
  };

  const send = (client: Client, now: number, heldUntil: number): void => {
    if (write(client, client.group.frame, now)) {
      client.sent = client.group.frame;
      client.heldUntil = heldUntil;
    }
  };

  const update = (group: QueryGroup, body: string): void => {
    if (body === group.body) return;
    group.body = body;
    group.frame = sseFrame(body);
  };

  const tick = async (): Promise<void> => {
    ticking = true;
    for (const group of [...groups.values()]) {
      // Within a tick of its due time (ticks are STREAM_TICK_MS apart, give or take their work).
      if (performance.now() - group.renderedAt >= group.renderEveryMs - STREAM_TICK_MS / 2) {
        group.renderedAt = performance.now();
        const answer = await Promise.resolve(group.query)
          .then(options.render)
          .catch(() => undefined);
        // A store that cannot answer now (503) leaves clients on their last view until it can.
        if (answer?.status === 200) update(group, await answer.text());
      }
      const now = performance.now();
      let written = 0;
      for (const client of [...group.clients]) {
        if (client.sent !== group.frame && now >= client.heldUntil) send(client, now, 0);
        else if (now - client.wroteAt >= keepaliveMs) write(client, KEEPALIVE_FRAME, now);
        else continue;
        // Let requests (and the pipeline) in between batches of writes: a thousand writes at once
        // would hold the event loop for milliseconds, felt as /stats latency.
        if (++written % WRITES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    tickEndedAt = performance.now();
  };

  /**
   * A chain of timeouts, not an interval: a slow tick delays the next, never overlaps it. A tick
   * starts a whole STREAM_TICK_MS after the previous one ended (by the precise clock: a timer may
   * fire a millisecond early by its own), so no client hears twice within a second.
   */
  const schedule = (): void => {
    const due = tickEndedAt + STREAM_TICK_MS;
    timer = setTimeout(
      () => {
        timer = undefined;
        if (performance.now() < due) return schedule();
        tick()
          .catch((err: unknown) => options.log?.error({ err }, 'stats stream tick failed'))
          .finally(() => {
            ticking = false;
            if (clientCount > 0 && !timer) schedule();
          });
      },
      Math.max(0, Math.ceil(due - performance.now())),
    );
    timer.unref();
  };

  const full = (c: Context) =>
    c.json(
      { error: 'unavailable', message: `too many stream clients (${maxClients}); poll /stats instead` },
      503,
      { ...CORS_HEADER, 'retry-after': '10' },
    );

  app.get('/stats/stream', async (c) => {
    if (clientCount >= maxClients) return full(c);
    const query = canonicalQuery(new URL(c.req.url).searchParams);
    const first = await options.render(query);
    if (first.status !== 200) return first;
    const body = await first.text();
    const res = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
    if (!res || c.req.method === 'HEAD') {
      // Not served by @hono/node-server (app.request in a test), or HEAD: headers only.
      return c.body(null, 200, sseHeaders());
    }
    // Checked again: other connections may have taken the last places while this one rendered.
    if (clientCount >= maxClients || res.destroyed) return full(c);

    let group = groups.get(query);
    if (!group) {
      group = {
        query,
        clients: new Set(),
        body,
        frame: sseFrame(body),
        renderEveryMs: isLongWindow(query) ? STREAM_LONG_WINDOW_TICK_MS : STREAM_TICK_MS,
        renderedAt: performance.now(),
      };
      groups.set(query, group);
    } else {
      update(group, body); // the newest view; the group's other clients get it at the next tick
    }
    const client: Client = { res, group, sent: undefined, heldUntil: 0, wroteAt: 0 };
    group.clients.add(client);
    clientCount++;
    res.on('close', () => drop(client));
    res.writeHead(200, sseHeaders());
    const now = performance.now();
    send(client, now, now + STREAM_TICK_MS);
    if (!timer && !ticking) {
      tickEndedAt = now;
      schedule();
    }
    return RESPONSE_ALREADY_SENT;
  });

  return {
    stats: () => {
      let bufferedBytes = 0;
      for (const group of groups.values()) {
        for (const client of group.clients) bufferedBytes += client.res.writableLength;
      }
      return { clients: clientCount, queries: groups.size, bufferedBytes };
    },
  };
}

/** `window=` longer than 60 minutes (`2h`..`24h`, `61m`..): its view changes at 10-minute resolution. */
function isLongWindow(query: string): boolean {
  const match = /^(\d+)(m|h)$/.exec(new URLSearchParams(query).get('window') ?? '');
  return match !== null && Number(match[1]) * (match[2] === 'h' ? 60 : 1) > 60;
}

/** Same parameters in any order are one query: one render a tick however they were written. */
function canonicalQuery(params: URLSearchParams): string {
  const sorted = new URLSearchParams(params);
  sorted.sort(); // stable: repeated parameters keep their order, and /stats still sees them
  return sorted.toString();
}

function sseFrame(body: string): Buffer {
  // /stats bodies are one line of JSON; any line break would still become its own `data:` line.
  const data = body
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n');
  return Buffer.from(`event: stats\n${data}\n\n`);
}

function sseHeaders(): Record<string, string> {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // Reverse proxies (nginx) would otherwise buffer the stream.
    'x-accel-buffering': 'no',
    ...CORS_HEADER,
  };
}
