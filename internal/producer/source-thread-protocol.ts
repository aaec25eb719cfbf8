import type { SourceCounters, SourceOptions } from '../wikimedia/sse-source.js';
import type { Rejection } from './producer-source.js';

export interface SourceThreadData {
  readonly options: SourceOptions;
  readonly log: { readonly level: string; readonly pretty: boolean };
}

/** Main thread -> source thread. */
export type ToSourceThread =
  /** `credit`: how many events the thread may hand over before it must wait for `credit` messages. */
  | { readonly type: 'start'; readonly cursor: string | undefined; readonly credit: number }
  /** Room for `count` more events (as many were acknowledged). */
  | { readonly type: 'credit'; readonly count: number }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' };

/**
 * One event handed over: a valid one (its id and payload are in the message's `bytes`, see
 * `events`), or a rejected one, as strings (rare; it goes to the dead-letter topic).
 */
export type HandedOver =
  | readonly [kind: 'event', sseId: string]
  | readonly [kind: 'invalid', rejected: Rejection, raw: string, sseId: string];

/** Source thread -> main thread. */
export type FromSourceThread =
  /**
   * The events read in one turn of the source thread's event loop, in order. The valid ones'
   * `meta.id` and payload as UTF-8, back to back in `bytes` (transferred, not copied): `ends`
   * holds, per valid event, where its id ends and where its payload ends. The main thread hands
   * kafkajs views of these bytes, so it encodes no string (key, header, value) itself.
   */
  | {
      readonly type: 'events';
      readonly events: readonly HandedOver[];
      readonly bytes: ArrayBuffer;
      readonly ends: Int32Array;
      readonly counters: SourceCounters;
    }
  /** The counters, once a second (they move without events too: keep-alive comments, reconnects). */
  | { readonly type: 'counters'; readonly counters: SourceCounters }
  /** Everything read was handed over; the thread exits. */
  | { readonly type: 'stopped'; readonly counters: SourceCounters };
