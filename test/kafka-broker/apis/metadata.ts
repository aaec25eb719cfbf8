import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';
import { isValidTopicName, type Topic } from '../topics.js';

interface TopicMetadata {
  errorCode: ErrorCode;
  name: string;
  topic: Topic | undefined;
}

/**
 * Metadata v1 (notes §5, §9). `topics` null means all topics (kafkajs never sends an empty array at
 * v1). v1 has no auto-create flag, so a broker setting decides; kafkajs producers rely on it.
 */
export const metadata: ApiHandler = (ctx, r, w) => {
  const requested = r.nullableArray((r) => r.string());
  const { broker, topics } = ctx;

  const answer: TopicMetadata[] = (requested ?? topics.names()).map((name) => {
    let topic = topics.get(name);
    if (!topic && requested) {
      if (!isValidTopicName(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, topic };
      if (!ctx.autoCreateTopics) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topic };
      // Kafka first answers 5 LEADER_NOT_AVAILABLE while creating; creation is synchronous here.
      topic = topics.create(name);
      ctx.log(`auto-created topic ${name} with ${topic.partitions.length} partition(s)`);
    }
    return { errorCode: ErrorCode.NONE, name, topic };
  });

  w.array([broker], (w, b) => {
    w.int32(b.nodeId).string(b.host).int32(b.port).nullableString(null);
  });
  // controller_id must be a listed node: InitProducerId and CreateTopics go to the controller (notes §1).
  w.int32(broker.nodeId);
  w.array(answer, (w, t) => {
    w.int16(t.errorCode).string(t.name).bool(false);
    w.array(t.topic?.partitions ?? [], (w, _log, index) => {
      w.int16(ErrorCode.NONE).int32(index).int32(broker.nodeId);
      w.array([broker.nodeId], (w, id) => w.int32(id)); // replicas
      w.array([broker.nodeId], (w, id) => w.int32(id)); // isr
    });
  });
};
