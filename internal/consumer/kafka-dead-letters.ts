import type { Producer } from 'kafkajs';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetter, DeadLetterSink } from './batch-processor.js';

const MAX_VALUE_BYTES = 64 * 1024;

/** Dead letters to the DLQ topic, with headers naming the reason and where the record came from. */
export class KafkaDeadLetters implements DeadLetterSink {
  count = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.eventId ?? null,
        value: l.value.subarray(0, MAX_VALUE_BYTES),
        headers: {
          'dlq-reason': l.reason,
          'dlq-detail': l.detail.slice(0, 1_000),
          'source-topic': l.partition.topic,
          'source-partition': String(l.partition.partition),
          'source-offset': String(l.offset),
          'source-bytes': String(l.value.length),
          ...(l.eventId === undefined ? {} : { 'event-id': l.eventId }),
        },
      })),
    });
    this.count += letters.length;
    for (const l of letters) {
      this.metrics?.eventsDeadLettered.inc({ reason: l.reason });
      this.log.warn(
        { reason: l.reason, detail: l.detail, partition: l.partition.partition, offset: l.offset },
        'record dead-lettered',
      );
    }
  }
}
