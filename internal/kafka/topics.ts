import type { Admin } from 'kafkajs';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';

/**
 * Creates the events topic and its dead-letter topic when missing (an existing topic is left as
 * it is). Returns the events topic's partition count as the broker has it.
 *
 * Only missing topics are asked for: kafkajs logs a CreateTopics answer of TOPIC_ALREADY_EXISTS at
 * error level before it swallows it, and a normal start must log nothing at error. (Two processes
 * creating the same topic at the same instant can still produce that one line.)
 */
export async function ensureTopics(admin: Admin, config: Config, log: Logger): Promise<number> {
  const { topic, dlqTopic, partitions } = config.kafka;
  const existing = new Set(await admin.listTopics());
  const missing = [
    { topic, numPartitions: partitions },
    // Dead letters are rare and read by people: one partition keeps them in order.
    { topic: dlqTopic, numPartitions: 1 },
  ].filter((t) => !existing.has(t.topic));
  const created = missing.length > 0 && (await admin.createTopics({ waitForLeaders: true, topics: missing }));
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const actual = metadata.topics[0]?.partitions.length ?? 0;
  log.info({ topic, dlqTopic, partitions: actual, created }, 'topics ready');
  return actual;
}
