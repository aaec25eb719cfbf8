import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckpointCounters } from '../checkpoint/checkpoint-file.js';
import type { RejectReason } from '../wikimedia/event-schema.js';
import type { SourceCounters } from '../wikimedia/sse-source.js';

/** Known reasons, pre-set to 0 so `rate()` and alerts see the series before the first rejection. */
const REJECT_REASONS = ['too_large', 'invalid_json', 'schema'] as const satisfies readonly RejectReason[];

/** Events per batch: from single events on a quiet stream to full Kafka fetches. */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** Seconds: memory writes take microseconds, Cassandra batches milliseconds, a sick cluster seconds. */
const LATENCY_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Anything that exposes `WikimediaSource`'s counters (the source itself, or a fake in tests). */
export interface CountedSource {
  readonly counters: Readonly<SourceCounters>;
}

/** Anything that exposes `PeriodicCheckpoint`'s health (the checkpoint itself, or a fake in tests). */
export interface CountedCheckpoint {
  readonly counters: Readonly<CheckpointCounters>;
  readonly writable: boolean;
}

/**
 * The process's metrics, with a registry of its own (not prom-client's global one), so tests and
 * two roles in one process never collide. Handles are incremented by the code that knows the fact:
 * the producer (`eventsRejected`, `eventsProduced`), the consumer (`eventsConsumed`,
 * `eventsDeadLettered`, `duplicatesDropped`, histograms, `consumerLag`), the embedded pipeline
 * (the same handles as the consumer, minus Kafka's). The SSE source's figures are not handles: call
 * `bindSource(source)` and they are read from its counters at scrape time.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Records rejected by validation, by reason (`too_large`, `invalid_json`, `schema`). */
  readonly eventsRejected: Counter<'reason'>;
  /** Records the broker acknowledged. */
  readonly eventsProduced: Counter;
  /** Records taken from the topic (or, embedded, from the source's queue) into a batch. */
  readonly eventsConsumed: Counter;
  /** Records sent to the dead-letter topic, by reason. */
  readonly eventsDeadLettered: Counter<'reason'>;
  /** Events not counted because their `meta.id` was already counted. */
  readonly duplicatesDropped: Counter;
  /** Records per applied batch. */
  readonly batchSize: Histogram;
  /** Time to apply a batch to the store (`startTimer()` returns the stop function). */
  readonly storeWriteSeconds: Histogram;
  /** Time to commit offsets to the broker. */
  readonly commitSeconds: Histogram;
  /** Broker end offset minus committed offset, per partition; set by the consumer. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  /** Consumer: times a partition's log was found replaced (went back) and the store re-based. */
  readonly logReplaced: Counter<'topic' | 'partition'>;
  /** Consumer: offsets missing between the store's position and the log (retention): never counted. */
  readonly recordsLost: Counter<'topic' | 'partition'>;
  /** Producer: events read but not yet acknowledged by the broker (bounded by PRODUCER_MAX_IN_FLIGHT). */
  readonly producerInFlight: Gauge;
  /** Producer: times the stream was paused because the broker was behind (normal during a backfill). */
  readonly producerPauses: Counter;
  /**
   * Exposes a source's counters: events received, SSE connects and reconnects, seconds since the
   * last event and since the last byte. Several sources (one replacing another) add up.
   */
  bindSource(source: CountedSource): void;
  /**
   * Exposes a checkpoint's health: failed writes, and whether the last write worked (0 while
   * DATA_DIR cannot be written).
   */
  bindCheckpoint(checkpoint: CountedCheckpoint): void;
}

export interface MetricsOptions {
  /** prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC). Default true. */
  readonly defaultMetrics?: boolean;
  /** Clock for the age gauges; tests pass a fake one. */
  readonly now?: () => number;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const now = options.now ?? Date.now;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const eventsRejected = new Counter({
    name: 'wikistream_events_rejected_total',
    help: 'Events that failed validation, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const eventsDeadLettered = new Counter({
    name: 'wikistream_events_dead_lettered_total',
    help: 'Records written to the dead-letter topic, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of REJECT_REASONS) {
    eventsRejected.inc({ reason }, 0);
    eventsDeadLettered.inc({ reason }, 0);
  }

  const metrics: Metrics = {
    registry,
    eventsRejected,
    eventsProduced: new Counter({
      name: 'wikistream_events_produced_total',
      help: 'Events acknowledged by the broker.',
      registers,
    }),
    eventsConsumed: new Counter({
      name: 'wikistream_events_consumed_total',
      help: 'Records taken into a batch by the consumer (embedded: by the pipeline).',
      registers,
    }),
    eventsDeadLettered,
    duplicatesDropped: new Counter({
      name: 'wikistream_duplicates_dropped_total',
      help: 'Events not counted because their meta.id was counted before.',
      registers,
    }),
    batchSize: new Histogram({
      name: 'wikistream_batch_size_events',
      help: 'Records per applied batch.',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    storeWriteSeconds: new Histogram({
      name: 'wikistream_store_write_duration_seconds',
      help: 'Time to apply one batch to the stats store.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'wikistream_offset_commit_duration_seconds',
      help: 'Time to commit consumer offsets to the broker.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'wikistream_consumer_lag_records',
      help: "Records not yet consumed: the broker's end offset minus the committed offset.",
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    logReplaced: new Counter({
      name: 'wikistream_log_replaced_total',
      help: "Times a partition's log went back below the store's position (broker lost its data, topic recreated).",
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    recordsLost: new Counter({
      name: 'wikistream_records_lost_total',
      help: 'Offsets gone from the log (retention) before the consumer counted them.',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    producerInFlight: new Gauge({
      name: 'wikistream_producer_in_flight_events',
      help: 'Events read from the stream but not yet acknowledged by the broker.',
      registers,
    }),
    producerPauses: new Counter({
      name: 'wikistream_producer_pauses_total',
      help: 'Times the producer paused the stream because PRODUCER_MAX_IN_FLIGHT events were unacknowledged.',
      registers,
    }),
    bindSource: (source) => bindSource(source),
    bindCheckpoint: (checkpoint) => bindCheckpoint(checkpoint),
  };

  // Like the source metrics: only where a checkpoint exists (not a consumer on Cassandra).
  const checkpoints: CountedCheckpoint[] = [];
  const failuresSeen = new Map<CountedCheckpoint, number>();
  function bindCheckpoint(checkpoint: CountedCheckpoint): void {
    checkpoints.push(checkpoint);
    if (checkpoints.length > 1) return;
    new Counter({
      name: 'wikistream_checkpoint_write_failures_total',
      help: 'Checkpoint writes that failed (DATA_DIR gone, read-only or full); retried every interval.',
      registers,
      collect() {
        for (const bound of checkpoints) {
          const grown = bound.counters.writeFailures - (failuresSeen.get(bound) ?? 0);
          if (grown > 0) this.inc(grown);
          failuresSeen.set(bound, bound.counters.writeFailures);
        }
      },
    });
    new Gauge({
      name: 'wikistream_checkpoint_writable',
      help: '1 while the last checkpoint write worked, 0 while DATA_DIR cannot be written (not ready).',
      registers,
      collect() {
        this.set(checkpoints.every((c) => c.writable) ? 1 : 0);
      },
    });
  }

  // Source metrics exist only once a source is bound: a consumer has none, and a last-event age
  // of 0 there would read as "fresh" to an alert.
  const sources: Array<{ source: CountedSource; boundAt: number; seen: Map<string, number> }> = [];
  let sourceMetricsRegistered = false;

  /** Counters fed from the sources' own counters: increments by what grew since the last scrape. */
  function sourceCounter(name: string, help: string, value: (c: Readonly<SourceCounters>) => number): void {
    new Counter({
      name,
      help,
      registers,
      collect() {
        for (const bound of sources) {
          const current = value(bound.source.counters);
          const grown = current - (bound.seen.get(name) ?? 0);
          if (grown > 0) this.inc(grown);
          bound.seen.set(name, current);
        }
      },
    });
  }

  /** Seconds since the newest `at` over all sources; since binding while nothing arrived. */
  function ageGauge(name: string, help: string, at: (c: Readonly<SourceCounters>) => number): void {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        let newest = 0;
        for (const bound of sources) newest = Math.max(newest, at(bound.source.counters) || bound.boundAt);
        this.set(Math.max(0, (now() - newest) / 1000));
      },
    });
  }

  function bindSource(source: CountedSource): void {
    sources.push({ source, boundAt: now(), seen: new Map() });
    if (sourceMetricsRegistered) return;
    sourceMetricsRegistered = true;
    sourceCounter(
      'wikistream_events_received_total',
      'SSE events received from Wikimedia, valid or not, canaries included.',
      (c) => c.received,
    );
    sourceCounter(
      'wikistream_source_canaries_total',
      "Wikimedia's synthetic canary events, received and skipped.",
      (c) => c.canaries,
    );
    sourceCounter(
      'wikistream_sse_connects_total',
      'Connections opened to the SSE stream, the first included.',
      (c) => c.connects,
    );
    sourceCounter(
      'wikistream_sse_reconnects_total',
      'Connections opened to the SSE stream after the first (drops, errors, idle watchdog).',
      (c) => Math.max(0, c.connects - 1),
    );
    sourceCounter(
      'wikistream_sse_ids_ignored_total',
      'SSE events whose id could not serve as a resume cursor (none, empty, non-ASCII...); the last usable one was kept.',
      (c) => c.idsIgnored,
    );
    sourceCounter(
      'wikistream_sse_oversized_drops_total',
      'SSE events cut because they grew past MAX_EVENT_BYTES while arriving (skipped in the stream, or the connection dropped).',
      (c) => c.oversizedDrops,
    );
    ageGauge(
      'wikistream_source_last_event_age_seconds',
      'Seconds since the last SSE event was received (since start while none has).',
      (c) => c.lastEventAt,
    );
    ageGauge(
      'wikistream_source_last_activity_age_seconds',
      'Seconds since anything (event or keep-alive comment) arrived on the SSE connection.',
      (c) => c.lastActivityAt,
    );
  }

  return metrics;
}
