import type { Batch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SHARED_EVENTS_DIR } from '../../test/support/paths.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { packBatch, unpackBatch } from './batch-transfer.js';
import { parseRecords } from './parse-records.js';

const TOPIC = 'wikipedia.changes';
const OPTIONS = { maxEventBytes: 4_096, dlqTopic: `${TOPIC}.dlq` };

type Message = { offset: string; value: Buffer | null; headers?: Record<string, Buffer | string> };

/** The part of a kafkajs Batch that packing reads. */
function kafkaBatch(topic: string, messages: Message[], highWatermark = messages.length + 3): Batch {
  return {
    topic,
    partition: 2,
    highWatermark: String(highWatermark),
    messages,
    lastOffset: () => messages[messages.length - 1]?.offset ?? '-1',
  } as unknown as Batch;
}

/** What the main thread gets must be what parsing on it would have given. */
function expectSameAsParsedHere(batch: Batch, form: 'raw' | 'parsed') {
  const packed = packBatch(batch, { generation: 3, seeks: 1 }, OPTIONS, form);
  expect(packed.batch).toMatchObject({ generation: 3, seeks: 1, topic: batch.topic, partition: 2 });
  const records = batch.messages.map((m) => ({
    offset: Number(m.offset),
    value: m.value,
    ...(m.headers === undefined ? {} : { headers: m.headers }),
  }));
  const here = parseRecords({ topic: batch.topic, partition: 2 }, records, OPTIONS);
  // Through structured clone, as postMessage delivers it.
  const unpacked = unpackBatch(structuredClone(packed.batch, { transfer: packed.transfer }), OPTIONS);
  expect(unpacked).toEqual({
    ...here,
    lastOffset: Number(batch.lastOffset()),
    highWatermark: Number(batch.highWatermark),
  });
  return unpacked;
}

describe.each(['raw', 'parsed'] as const)(
  'a batch handed from the fetch thread to the main thread, %s',
  (form) => {
    it('carries every recorded event as the schema parsed it', () => {
      const lines = readRecordedEvents([SHARED_EVENTS_DIR]);
      const unpacked = expectSameAsParsedHere(
        kafkaBatch(
          TOPIC,
          lines.map((line, i) => ({ offset: String(100 + i), value: Buffer.from(line) })),
        ),
        form,
      );
      expect(unpacked.records.filter((r) => r.event).length).toBe(lines.length);
      expect(unpacked.letters).toEqual([]);
    });

    it('carries hostile values exactly, and rejected records raw for the dead-letter topic', () => {
      const event = (fields: Record<string, unknown>) =>
        Buffer.from(
          JSON.stringify({ meta: { id: 'x', dt: '2026-01-01T00:00:00Z', domain: 'a.org' }, ...fields }),
        );
      const messages: Message[] = [
        { offset: '0', value: event({ user: 'lone \ud800 surrogate', title: '\u0000"\\\n', bot: false }) },
        { offset: '1', value: event({ length: {}, type: 'new' }) },
        { offset: '2', value: event({ length: { new: 5 }, namespace: 0, wiki: 'awiki' }) },
        { offset: '3', value: Buffer.from('{not json') },
        { offset: '4', value: null },
        { offset: '5', value: event({ bot: 'yes' }) },
        { offset: '6', value: Buffer.from(`"${'x'.repeat(5_000)}"`) },
        { offset: '7', value: event({ user: 42, title: ['not', 'a', 'string'] }) },
      ];
      const unpacked = expectSameAsParsedHere(kafkaBatch(TOPIC, messages), form);
      expect(unpacked.letters.map((l) => [l.offset, l.reason, l.eventId])).toEqual([
        [3, 'invalid_json', undefined],
        [4, 'invalid_json', undefined],
        [5, 'schema', 'x'],
        [6, 'too_large', undefined],
      ]);
      expect(unpacked.letters[0]?.value.toString()).toBe('{not json');
      expect(unpacked.records[0]?.event?.user).toBe('lone \ud800 surrogate');
    });

    it('carries the identities of dead letters read back from the dead-letter topic', () => {
      const messages: Message[] = [
        { offset: '0', value: Buffer.from('x'), headers: { 'source-id': Buffer.from('sse-7') } },
        {
          offset: '1',
          value: Buffer.from('y'),
          headers: { 'source-topic': TOPIC, 'source-partition': '0', 'source-offset': Buffer.from('9') },
        },
        { offset: '2', value: Buffer.from('z') },
      ];
      const unpacked = expectSameAsParsedHere(kafkaBatch(OPTIONS.dlqTopic, messages), form);
      expect(unpacked.records.map((r) => r.rejectedId)).toEqual([
        'sse:sse-7',
        `record:${TOPIC}[0]@9`,
        undefined,
      ]);
    });
  },
);
