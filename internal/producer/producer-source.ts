import type { Logger } from '../log/logger.js';
import type { ParseResult } from '../wikimedia/event-schema.js';
import { type SourceCounters, type SourceOptions, WikimediaSource } from '../wikimedia/sse-source.js';

/** An event that failed validation, as the dead-letter topic records it. */
export type Rejection = Extract<ParseResult, { ok: false }>;

/**
 * What the producer needs of an event: its id (the record key) and the payload as Wikimedia sent
 * it; `sseId` is the cursor to resume after once it is handled (see SourceHandlers).
 */
export interface ProducerSourceHandlers {
  /** `eventId` and `raw` as strings, or as their UTF-8 bytes (from the source thread). */
  onEvent(eventId: string | Buffer, raw: string | Buffer, sseId: string): void;
  onInvalid(rejected: Rejection, raw: string, sseId: string): void;
  /** The id to resume after at every (re)connect; undefined to start live. */
  cursor(): string | undefined;
}

/**
 * The producer's port to the Wikimedia stream. Two implementations: the SSE client in this
 * thread (`InProcessSource`), or in a thread of its own (`ThreadedSource`, what `cmd/producer`
 * runs), so reading and validating the stream does not take turns with kafkajs's encoding.
 */
export interface ProducerSource {
  readonly counters: Readonly<SourceCounters>;
  readonly isPaused: boolean;
  start(): void;
  /** Closes the connection (it is reopened after the last event handed over, on `resume`). */
  pause(): void;
  resume(): void;
  /** Resolves once every event read has been handed to the handlers. */
  stop(): Promise<void>;
  /** `count` events handed over are no longer held (acknowledged): room for as many more. */
  released(count: number): void;
}

/** The SSE client in this thread: each event is handed over as it is parsed. */
export class InProcessSource implements ProducerSource {
  private readonly source: WikimediaSource;

  constructor(options: SourceOptions, handlers: ProducerSourceHandlers, log: Logger) {
    this.source = new WikimediaSource(
      options,
      {
        onEvent: (event, raw, id) => handlers.onEvent(event.meta.id, raw, id),
        onInvalid: (rejected, raw, id) => handlers.onInvalid(rejected, raw, id),
        cursor: () => handlers.cursor(),
      },
      log,
    );
  }

  get counters(): Readonly<SourceCounters> {
    return this.source.counters;
  }

  get isPaused(): boolean {
    return this.source.isPaused;
  }

  start(): void {
    this.source.start();
  }

  pause(): void {
    this.source.pause();
  }

  resume(): void {
    this.source.resume();
  }

  async stop(): Promise<void> {
    this.source.stop();
  }

  /** Nothing to do: the producer pauses this source itself, in the same turn it fills up. */
  released(_count: number): void {}
}
