import type { Admin } from 'kafkajs';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';

/**
 * Creates the events topic and its dead-letter topic when missing (idempotent: an existing topic
 * is left as it is). Returns the events topic's partition count as the broker has it.
 */
export async function ensureTopics(admin: Admin, config: Config, log: Logger): Promise<number> {
  const { topic, dlqTopic, partitions } = config.kafka;
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: partitions },
      // Dead letters are rare and read by people: one partition keeps them in order.
      { topic: dlqTopic, numPartitions: 1 },
    ],
  });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const actual = metadata.topics[0]?.partitions.length ?? 0;
  log.info({ topic, dlqTopic, partitions: actual, created }, 'topics ready');
  return actual;
}
