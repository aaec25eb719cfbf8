import { Kafka, type KafkaConfig, type logCreator, logLevel } from 'kafkajs';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';

const PINO_LEVEL: Record<logLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.NOTHING]: 'debug',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs into our pino logger, structured: its `log` object becomes the line's fields. */
export function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      log[PINO_LEVEL[level]]({ kafkaNamespace: namespace, ...fields }, `kafkajs: ${message}`);
    };
}

/** One kafkajs client per process; producer, consumer and admin come from it. */
export function createKafka(config: Config, log: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.kafka.clientId,
    brokers: [...config.kafka.brokers],
    // kafkajs filters by this before calling the creator; INFO keeps group joins, drops chatter.
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(kafkaLog),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    ...overrides,
  });
}
