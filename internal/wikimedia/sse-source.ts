import { EventSource } from 'eventsource';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { Backoff } from './backoff.js';
import { isCanary, type ParseResult, parseRecentChange, type RecentChange } from './event-schema.js';
import { userAgent } from './user-agent.js';

/** The source's settings are exactly its slice of the configuration. */
export type SourceOptions = Config['source'];

export interface SourceHandlers {
  /** A valid, non-canary event. `raw` is the payload exactly as Wikimedia sent it. */
  onEvent(event: RecentChange, raw: string, id: string): void;
  /** An event that failed validation; the stream goes on. */
  onInvalid(rejected: Extract<ParseResult, { ok: false }>, raw: string, id: string): void;
  /** Called just before every (re)connect: the id to resume after, or undefined to start live. */
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
 */
export class WikimediaSource {
  readonly counters: SourceCounters = {
    received: 0,
    canaries: 0,
    invalid: 0,
    connects: 0,
    lastActivityAt: 0,
    lastEventAt: 0,
  };
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
    this.log.info('source paused');
  }

  /** Reconnects from `handlers.cursor()`. */
  resume(): void {
    if (!this.running || !this.paused) return;
    this.paused = false;
    this.log.info('source resumed');
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
    const es = new EventSource(this.options.url, { fetch: (input, init) => this.fetch(input, init) });
    this.es = es;
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
      this.disconnect();
      if (this.gotEventSinceConnect) this.backoff.reset();
      const delay = Math.max(this.backoff.next(), this.retryAfterMs);
      this.retryAfterMs = 0;
      this.log.warn(
        { err: { message: error.message, code: error.code }, reconnectInMs: delay },
        'source disconnected; reconnecting',
      );
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.running && !this.paused) this.connect();
      }, delay);
    };
  }

  private disconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const es = this.es;
    this.es = undefined;
    es?.close();
  }

  private handle(data: string, id: string): void {
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

  private checkIdle(): void {
    if (!this.running || this.paused || !this.es) return;
    const idleMs = Date.now() - this.counters.lastActivityAt;
    if (idleMs > this.options.idleTimeoutMs) {
      this.log.warn({ idleMs }, 'source idle for too long; reconnecting');
      this.connect();
    }
  }

  private async fetch(input: string | URL, init?: RequestInit): Promise<Response> {
    const headers = new Headers(init?.headers);
    headers.set('User-Agent', this.agent);
    const cursor = this.handlers.cursor();
    // A fresh library instance per connection never has an id of its own; keep its id if it does.
    if (cursor !== undefined && !headers.has('Last-Event-ID')) headers.set('Last-Event-ID', cursor);
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
    const touch = new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        this.counters.lastActivityAt = Date.now();
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(touch), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
}
