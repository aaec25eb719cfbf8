import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait-for.js';
import { EventProducer } from './event-producer.js';

/** A kafkajs producer that records what each send carried and acknowledges at once. */
function recordingProducer() {
  const sent: string[][] = [];
  const producer = {
    sendBatch: async (batch: { topicMessages: Array<{ messages: Array<{ key: string }> }> }) => {
      sent.push(batch.topicMessages.flatMap((t) => t.messages.map((m) => m.key)));
      return [];
    },
  } as unknown as Producer;
  return { producer, sent };
}

describe('EventProducer', () => {
  it('sends an event that arrives while the last cursor write is still on its way (the stream’s last event)', async () => {
    const { producer, sent } = recordingProducer();
    const cursorWrites: Array<() => void> = [];
    const events = new EventProducer(
      producer,
      { topic: 't', dlqTopic: 't.dlq', lingerMs: 1, maxBatch: 10 },
      // A slow disk: the cursor write of each acknowledged send finishes only when the test says.
      () => new Promise<void>((resolve) => cursorWrites.push(resolve)),
      pino({ level: 'silent' }),
    );
    events.send('a', '{}', 'sse-a');
    await waitFor(() => cursorWrites.length === 1, { message: 'the first send acknowledged' });
    // The queue is empty and the send loop waits for the cursor write: an event arrives now.
    events.send('b', '{}', 'sse-b');
    cursorWrites[0]?.();
    await waitFor(() => sent.length === 2, {
      message: 'the event that arrived during the write is sent',
      timeoutMs: 2_000,
    });
    expect(sent).toEqual([['a'], ['b']]);
    cursorWrites[1]?.();
    await events.drain();
    expect(events.buffered).toBe(0);
  });
});
