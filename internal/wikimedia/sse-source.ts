import { EventSource } from 'eventsource';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { Backoff } from './backoff.js';
import { isCanary, type ParseResult, parseRecentChange, type RecentChange } from './event-schema.js';
import {
  EventSizeGuard,
  FRAMING_SLACK_BYTES,
  type OversizedEvent,
  SKIP_FACTOR,
  SKIPPED_EVENT_TYPE,
} from './event-size-guard.js';
import { describeUnusableCursor, isUsableCursor } from './sse-cursor.js';
import { userAgent } from './user-agent.js';

/** The source's settings are exactly its slice of the configuration. */
export type SourceOptions = Config['source'];

/**
 * `id` is the cursor to resume after once the event is handled: the event's own SSE id when it is
 * usable as `Last-Event-ID` (see sse-cursor.ts), else the last usable one (an unusable id is
 * ignored with a warning: resuming there replays this event, and dedup drops the repeat); ""
 * only while no usable id was seen at all. It is always safe to persist and to return from
 * `cursor()`.
 */
export interface SourceHandlers {
  /** A valid, non-canary event. `raw` is the payload exactly as Wikimedia sent it. */
  onEvent(event: RecentChange, raw: string, id: string): void;
  /**
   * An event that failed validation; the stream goes on. An event that grew past
   * MAX_EVENT_BYTES while arriving comes here too (`too_large`, `raw` = its first 4 KiB): its
   * connection was dropped and is reopened after it.
   */
  onInvalid(rejected: Extract<ParseResult, { ok: false }>, raw: string, id: string): void;
  /**
   * Called just before every (re)connect: the id to resume after, or undefined to start live. An
   * unusable value is not sent (warning logged): the connection starts live.
   */
  cursor(): string | undefined;
}

/** Counters for logs and metrics; read, never reset. */
export interface SourceCounters {
  received: number;
  canaries: number;
  invalid: number;
  connects: number;
  /** Date.now() of the last byte received (event or comment), 0 before the first. */
  lastActivityAt: number;
  /** Date.now() of the last event received (valid or not; comments excluded), 0 before the first. */
  lastEventAt: number;
  /** Events whose SSE id could not serve as a cursor (none, empty, non-ASCII...): kept the previous one. */
  idsIgnored: number;
  /** Events cut because they grew past MAX_EVENT_BYTES while arriving (skipped, or their connection dropped). */
  oversizedDrops: number;
}

/** Counters of a source that has not read anything yet. */
export function noSourceCounters(): SourceCounters {
  return {
    received: 0,
    canaries: 0,
    invalid: 0,
    connects: 0,
    lastActivityAt: 0,
    lastEventAt: 0,
    idsIgnored: 0,
    oversizedDrops: 0,
  };
}

/**
 * The Wikimedia EventStreams client: the `eventsource` package for the SSE protocol, wrapped in
 * what it lacks for a long-running consumer of this stream.
 *
 * - One reconnect loop of our own, with capped exponential backoff and jitter: the library gives
 *   up for good on a non-200 answer (429, 502, 503) and reconnects with a fixed interval otherwise.
 *   On any error we close its instance and open a new one.
 * - Resume: every connection sends `Last-Event-ID` = `handlers.cursor()` (the last *handled* id,
 *   which the caller persists), injected in the fetch wrapper because the library only sends ids
 *   it received itself, and none on the first connection.
 * - A watchdog: EventStreams sends comments while idle; if nothing at all arrives for
 *   `idleTimeoutMs` the connection is presumed dead (half-open TCP) and replaced.
 * - Hostile input never stops ingestion: an id that cannot be sent back never becomes a cursor
 *   nor reaches a header, and an event is cut (connection dropped, reopened after it) as soon as
 *   it grows past MAX_EVENT_BYTES, not after it ended, so memory stays bounded.
 */
export class WikimediaSource {
  readonly counters: SourceCounters = noSourceCounters();
  /** The most bytes of one unfinished event handed to the SSE parser so far (bounded memory, observable). */
  largestPendingEventBytes = 0;
  private readonly backoff: Backoff;
  private readonly agent: string;
  private es: EventSource | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private running = false;
  private paused = false;
  /** Retry-After of the last non-200 answer, in ms. */
  private retryAfterMs = 0;
  private gotEventSinceConnect = false;
  /** The last usable cursor: what the current connection resumed after, or the newest usable id since. */
  private resumeId: string | undefined;
  private warnedIdThisConnection = false;

  constructor(
    private readonly options: SourceOptions,
    private readonly handlers: SourceHandlers,
    private readonly log: Logger,
  ) {
    this.backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs);
    this.agent = userAgent(options.contact);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.paused = false;
    this.connect();
    const every = Math.max(250, Math.floor(this.options.idleTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkIdle(), every);
    this.watchdog.unref();
  }

  /** Closes the connection and stays closed until `resume()` (backpressure: reading stops). */
  pause(): void {
    if (!this.running || this.paused) return;
    this.paused = true;
    this.disconnect();
    this.log.debug('source paused'); // back-pressure, counted in wikistream_producer_pauses_total
  }

  /** Reconnects from `handlers.cursor()`. */
  resume(): void {
    if (!this.running || !this.paused) return;
    this.paused = false;
    this.log.debug('source resumed');
    this.connect();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  stop(): void {
    this.running = false;
    if (this.watchdog) clearInterval(this.watchdog);
    this.disconnect();
  }

  private connect(): void {
    this.disconnect();
    this.counters.connects++;
    this.gotEventSinceConnect = false;
    this.counters.lastActivityAt = Date.now();
    this.warnedIdThisConnection = false;
    const connection: Connection = { oversized: undefined, guard: undefined };
    const es = new EventSource(this.options.url, {
      fetch: (input, init) => this.fetch(input, init, connection),
    });
    this.es = es;
    // What the parser held of an event the guard skipped, closed by the guard, in stream order.
    es.addEventListener(SKIPPED_EVENT_TYPE, () => {
      const skipped = connection.guard?.takeSkipped();
      if (es === this.es && skipped) this.rejectOversized(skipped, 'skipped');
    });
    es.onopen = () => {
      this.log.info({ url: this.options.url, connects: this.counters.connects }, 'source connected');
    };
    es.onmessage = (message) => {
      if (es !== this.es) return;
      this.gotEventSinceConnect = true;
      this.handle(message.data, message.lastEventId);
    };
    es.onerror = (error) => {
      if (es !== this.es) return;
      // Whatever the library meant to do next (its own fixed-interval retry, or giving up on a
      // non-200), we replace it with one policy: close, back off, reconnect from our cursor.
      if (connection.oversized) {
        this.rejectOversized(connection.oversized, 'dropped');
        this.reconnectAfter({ message: 'event too large: connection dropped', code: undefined });
        return;
      }
      this.reconnectAfter({ message: error.message, code: error.code });
    };
  }

  private reconnectAfter(err: { message: string | undefined; code: number | undefined }): void {
    this.disconnect();
    if (this.gotEventSinceConnect) this.backoff.reset();
    const delay = Math.max(this.backoff.next(), this.retryAfterMs);
    this.retryAfterMs = 0;
    this.log.warn({ err, reconnectInMs: delay }, 'source disconnected; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running && !this.paused) this.connect();
    }, delay);
  }

  private disconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const es = this.es;
    this.es = undefined;
    es?.close();
  }

  private handle(data: string, sseId: string): void {
    const id = this.cursorAfter(sseId);
    this.counters.received++;
    this.counters.lastEventAt = Date.now();
    const parsed = parseRecentChange(data, this.options.maxEventBytes);
    if (!parsed.ok) {
      this.counters.invalid++;
      this.log.warn(
        { reason: parsed.reason, detail: parsed.detail, eventId: parsed.id, sseId: id, bytes: data.length },
        'invalid event rejected',
      );
      this.handlers.onInvalid(parsed, data, id);
      return;
    }
    if (isCanary(parsed.event)) {
      // Wikimedia's synthetic monitoring events: not edits, never counted.
      this.counters.canaries++;
      return;
    }
    this.handlers.onEvent(parsed.event, data, id);
  }

  /** The cursor to resume after this event: its id when usable, else the last usable one. */
  private cursorAfter(sseId: string | undefined): string {
    if (isUsableCursor(sseId)) {
      this.resumeId = sseId;
      return sseId;
    }
    this.counters.idsIgnored++;
    // Once per connection: a server that never sends usable ids must not flood the log.
    if (!this.warnedIdThisConnection) {
      this.warnedIdThisConnection = true;
      this.log.warn(
        {
          problem: describeUnusableCursor(sseId),
          keptCursor: this.resumeId,
          idsIgnored: this.counters.idsIgnored,
        },
        'SSE id unusable as a cursor; ignored, keeping the last usable one',
      );
    }
    return this.resumeId ?? '';
  }

  /**
   * An event grew past the limit while arriving: reject it. `skipped`: the guard dropped it from
   * the stream, which goes on. `dropped`: it passed SKIP_FACTOR x the limit without ending, so the
   * connection was dropped; the caller reconnects after it (or, with no id of its own, before it).
   */
  private rejectOversized(event: OversizedEvent, how: 'skipped' | 'dropped'): void {
    this.counters.oversizedDrops++;
    this.counters.received++;
    this.counters.invalid++;
    this.counters.lastEventAt = Date.now();
    // Not a reason to reset the backoff: a server that resends an endless event it gave no id
    // (so it cannot be skipped) is retried ever more slowly, not in a tight loop.
    const id = this.cursorAfter(event.id);
    const limit = this.options.maxEventBytes + FRAMING_SLACK_BYTES;
    const detail =
      `event is larger than ${this.options.maxEventBytes} bytes ` +
      (how === 'skipped'
        ? `(${event.bytes} on the wire: skipped)`
        : `(over ${SKIP_FACTOR * limit} on the wire before it ended: connection dropped)`);
    this.log.warn(
      { reason: 'too_large', detail, sseId: event.id, resumeAfter: id },
      'invalid event rejected',
    );
    this.handlers.onInvalid({ ok: false, reason: 'too_large', detail }, event.headText, id);
  }

  private checkIdle(): void {
    if (!this.running || this.paused || !this.es) return;
    const idleMs = Date.now() - this.counters.lastActivityAt;
    if (idleMs > this.options.idleTimeoutMs) {
      this.log.warn({ idleMs }, 'source idle for too long; reconnecting');
      this.connect();
    }
  }

  private async fetch(
    input: string | URL,
    init: RequestInit | undefined,
    connection: Connection,
  ): Promise<Response> {
    // Not `new Headers(init.headers)`: it throws on the library's own Last-Event-ID if that is
    // not a ByteString, which would fail every request from then on.
    const headers = new Headers();
    let libraryId: string | undefined;
    for (const [name, value] of headerEntries(init?.headers)) {
      if (name.toLowerCase() === 'last-event-id') libraryId = value;
      else headers.set(name, value);
    }
    headers.set('User-Agent', this.agent);
    // A fresh library instance per connection never has an id of its own; keep its id if it does.
    // "" is what a caller holds while no usable id was seen yet: no cursor, nothing to warn about.
    const candidates = [libraryId, this.handlers.cursor()].filter((c) => c !== undefined && c !== '');
    const cursor = candidates.find(isUsableCursor);
    for (const bad of candidates.filter((c) => !isUsableCursor(c))) {
      this.log.warn({ problem: describeUnusableCursor(bad) }, 'unusable cursor not sent as Last-Event-ID');
    }
    this.resumeId = cursor;
    if (cursor !== undefined) headers.set('Last-Event-ID', cursor);
    const response = await fetch(input, { ...init, headers });
    this.counters.lastActivityAt = Date.now();
    if (response.status !== 200 || !response.body) {
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) {
        this.retryAfterMs = Math.min(retryAfter * 1000, this.options.reconnectMaxMs);
      }
      return response;
    }
    // Every chunk, comment or event, proves the connection alive (the library hides comments).
    // The size guard runs here, before the library's parser buffers anything.
    const guard = new EventSizeGuard(this.options.maxEventBytes + FRAMING_SLACK_BYTES);
    connection.guard = guard;
    let dropped = false;
    const touch = new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        this.counters.lastActivityAt = Date.now();
        if (dropped) return;
        const taken = guard.take(chunk);
        for (const bytes of taken.pass) if (bytes.length > 0) controller.enqueue(bytes);
        this.largestPendingEventBytes = Math.max(this.largestPendingEventBytes, guard.pendingBytes);
        if (taken.endless) {
          // Hand over what came before it, then end the stream: the library parses that, sees
          // the end and reports an error, where `onerror` rejects the endless event.
          dropped = true;
          connection.oversized = taken.endless;
          controller.terminate();
        }
      },
    });
    return new Response(response.body.pipeThrough(touch), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
}

/** One connection's state shared by its fetch wrapper and its event handlers. */
interface Connection {
  /** Set when an event grew past all bounds: the stream was ended on purpose. */
  oversized: OversizedEvent | undefined;
  /** The size guard of the connection's response, which holds the events it skipped. */
  guard: EventSizeGuard | undefined;
}

function headerEntries(headers: RequestInit['headers']): Array<[string, string]> {
  if (headers === undefined) return [];
  if (headers instanceof Headers) return [...headers];
  if (Array.isArray(headers)) return headers.map(([name, value]) => [String(name), String(value)]);
  return Object.entries(headers).map(([name, value]) => [name, String(value)]);
}
