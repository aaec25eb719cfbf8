import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../log/logger.js';
import type { RejectReason } from '../wikimedia/event-schema.js';

export interface EventProducerOptions {
  readonly topic: string;
  readonly dlqTopic: string;
  /** How long the first event of an idle producer waits for company before a send. */
  readonly lingerMs: number;
  /** Events per send at most (kafkajs splits them per partition into record batches). */
  readonly maxBatch: number;
}

interface Outgoing {
  readonly topic: string;
  readonly message: Message;
  /** SSE id of the event: once acknowledged, the stream can resume after it. */
  readonly sseId: string;
  /** Set for dead letters. */
  readonly reason?: RejectReason;
}

/** Dead-letter values are truncated: a 1 MB poison event must not also break the DLQ. */
const DLQ_MAX_VALUE_BYTES = 64 * 1024;

/**
 * Produces events in order, in batches, and reports the SSE id of the last acknowledged one.
 *
 * One send at a time, each a prefix of the queue: acknowledgements therefore arrive in order and
 * "acknowledged up to id X" is exact, which is what the resume cursor needs. Each acknowledgement
 * is handed to `onAcknowledged`, which persists the cursor; the next send may overlap that write,
 * but the one after waits for it. So at any instant at most two batches are in the log after the
 * persisted cursor (acknowledged but not yet persisted, or sent but not yet acknowledged): a
 * producer killed at any moment re-sends at most 2 x `maxBatch` events on restart (the bound
 * `DEDUP_WINDOW >= 2 x PRODUCER_MAX_BATCH` covers). kafkajs's idempotent
 * producer retries a failed send itself (with the same sequence numbers, so the broker drops a
 * repeat); a send that still fails is retried here with backoff, never dropped.
 *
 * Record key = `meta.id`: it spreads hot wikis (Wikidata and Commons are half the stream) over all
 * partitions, and puts both copies of an event written twice (a producer restarted after an
 * unacknowledged send) on the same partition, where the consumer's per-partition dedup drops it.
 * We give up per-wiki ordering, which counting does not need.
 */
export class EventProducer {
  readonly counters = { produced: 0, deadLettered: 0, sendFailures: 0, batches: 0 };
  private queue: Outgoing[] = [];
  private sending: Promise<void> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    private readonly producer: Producer,
    private readonly options: EventProducerOptions,
    /** Persists the cursor; must resolve only once it is durable (it is awaited before the next-but-one send). */
    private readonly onAcknowledged: (
      sseId: string,
      sent: { events: number; deadLetterReasons: RejectReason[] },
    ) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Events read but not yet acknowledged by the broker. */
  get buffered(): number {
    return this.queue.length;
  }

  /**
   * `eventId` is the record key; `raw` the payload as Wikimedia sent it. Bytes (from the source
   * thread) go to the broker as they are: kafkajs encodes strings itself. No headers: the key is
   * the event id already, and an `event-id` header repeating it cost kafkajs an encoder per record
   * (the producer's main thread about a tenth more CPU, BENCHMARKS.md).
   */
  send(eventId: string | Buffer, raw: string | Buffer, sseId: string): void {
    this.push({ topic: this.options.topic, sseId, message: { key: eventId, value: raw } });
  }

  deadLetter(reason: RejectReason, detail: string, raw: string, sseId: string, eventId?: string): void {
    const bytes = Buffer.from(raw);
    const truncated = bytes.length > DLQ_MAX_VALUE_BYTES;
    this.push({
      topic: this.options.dlqTopic,
      sseId,
      reason,
      message: {
        key: eventId ?? null,
        value: truncated ? bytes.subarray(0, DLQ_MAX_VALUE_BYTES) : bytes,
        headers: {
          'dlq-reason': reason,
          'dlq-detail': detail.slice(0, 1_000),
          'source-id': sseId,
          'source-bytes': String(bytes.length),
          ...(eventId === undefined ? {} : { 'event-id': eventId }),
          ...(truncated ? { 'dlq-truncated': 'true' } : {}),
        },
      },
    });
  }

  /** Resolves when everything queued so far is acknowledged (shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.sending) return Promise.resolve();
    this.scheduleSend(0);
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops retrying (after a shutdown timeout); what is queued stays unacknowledged. */
  stop(): void {
    this.stopped = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
  }

  private push(item: Outgoing): void {
    this.queue.push(item);
    if (!this.sending)
      this.scheduleSend(this.queue.length >= this.options.maxBatch ? 0 : this.options.lingerMs);
  }

  private scheduleSend(delayMs: number): void {
    if (this.lingerTimer || this.sending) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.sending = this.sendLoop().finally(() => {
        this.sending = undefined;
        // The loop's last step awaits a cursor write: an event pushed meanwhile saw a send in
        // progress and scheduled none. Without this it would wait for the next event, and the
        // stream's last event (or the last before a quiet spell) would never be sent.
        if (this.queue.length > 0 && !this.stopped) this.scheduleSend(0);
      });
    }, delayMs);
  }

  private async sendLoop(): Promise<void> {
    let failures = 0;
    // The cursor write of the previous acknowledged batch, overlapping at most this one send.
    let persisting: Promise<void> = Promise.resolve();
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.slice(0, this.options.maxBatch);
      const byTopic = new Map<string, Message[]>();
      for (const item of batch) {
        const list = byTopic.get(item.topic) ?? [];
        list.push(item.message);
        byTopic.set(item.topic, list);
      }
      try {
        const sent = this.producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.GZIP,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        // Both must settle before the next send: the write of the batch before, and this send.
        const [, result] = await Promise.allSettled([persisting, sent]);
        if (result.status === 'rejected') throw result.reason;
      } catch (err) {
        failures++;
        this.counters.sendFailures++;
        const waitMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.log.error(
          { err, events: batch.length, retryInMs: waitMs },
          'send failed; retrying the same batch',
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        continue;
      }
      failures = 0;
      this.queue = this.queue.slice(batch.length);
      const deadLetters = byTopic.get(this.options.dlqTopic)?.length ?? 0;
      this.counters.produced += batch.length - deadLetters;
      this.counters.deadLettered += deadLetters;
      this.counters.batches++;
      persisting = this.onAcknowledged((batch[batch.length - 1] as Outgoing).sseId, {
        events: batch.length - deadLetters,
        deadLetterReasons: batch.flatMap((item) => (item.reason === undefined ? [] : [item.reason])),
      });
    }
    await persisting;
    if (this.queue.length === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
