import { ErrorCode } from './errors.js';
import { PartitionLog } from './log.js';

/** Topic registry: name → partition logs. Creation rules follow CreateTopics in notes §5 and §9. */

export interface Topic {
  name: string;
  partitions: PartitionLog[];
}

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Kafka's topic name rule (`Topic.validate`): [a-zA-Z0-9._-], at most 249 characters, not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return LEGAL_TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

export class TopicStore {
  private readonly topics = new Map<string, Topic>();

  constructor(private readonly defaultPartitions: number) {}

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(name: string, index: number): PartitionLog | undefined {
    return this.topics.get(name)?.partitions[index];
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  /**
   * Checks a creation request. `numPartitions` −1 means "broker default": kafkajs sends −1 when the
   * caller omits it (notes §5, CreateTopics).
   */
  validateCreate(name: string, numPartitions: number): ErrorCode {
    if (!isValidTopicName(name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
    if (this.topics.has(name)) return ErrorCode.TOPIC_ALREADY_EXISTS;
    if (numPartitions === 0 || numPartitions < -1) return ErrorCode.INVALID_PARTITIONS;
    return ErrorCode.NONE;
  }

  /** Creates the topic (caller validated it). */
  create(name: string, numPartitions = -1): Topic {
    const count = numPartitions === -1 ? this.defaultPartitions : numPartitions;
    const topic: Topic = { name, partitions: Array.from({ length: count }, () => new PartitionLog()) };
    this.topics.set(name, topic);
    return topic;
  }
}
