import { ErrorCode } from '../errors.js';
import type { ApiHandler, RequestContext } from '../protocol.js';

interface PartitionRequest {
  partition: number;
  fetchOffset: number;
  maxBytes: number;
}

interface TopicRequest {
  topic: string;
  partitions: PartitionRequest[];
}

interface PartitionData {
  partition: number;
  errorCode: ErrorCode;
  highWatermark: number;
  batches: Buffer[];
}

interface FetchResult {
  topics: { topic: string; partitions: PartitionData[] }[];
  bytes: number;
  hasError: boolean;
}

/**
 * Fetch v4 (notes §5, §8). Answers at once when data reaches min_bytes, a partition has an error, or
 * max_wait_ms ≤ 0; otherwise parks until an append to a requested partition or max_wait_ms. It must
 * answer no later than max_wait_ms: kafkajs heartbeats only between fetches (notes §10).
 */
export const fetch: ApiHandler = async (ctx, r, w) => {
  r.int32(); // replica_id
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  r.int8(); // isolation_level: no transactions, so the last stable offset is the high watermark
  const request: TopicRequest[] = r.array((r) => ({
    topic: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), fetchOffset: r.int64(), maxBytes: r.int32() })),
  }));

  let result = readAll(ctx, request, maxBytes);
  if (maxWaitMs > 0 && result.bytes < minBytes && !result.hasError) {
    result = await longPoll(ctx, request, maxBytes, minBytes, maxWaitMs);
  }
  if (ctx.signal.aborted) return;

  w.int32(0); // throttle_time_ms
  // Only requested topics/partitions, in request order: kafkajs looks each one up in its request
  // and crashes on anything else (notes §5, Fetch).
  w.array(result.topics, (w, t) => {
    w.string(t.topic);
    w.array(t.partitions, (w, p) => {
      w.int32(p.partition).int16(p.errorCode).int64(p.highWatermark).int64(p.highWatermark);
      w.nullableArray(null, () => {}); // aborted_transactions
      w.bytesParts(p.batches);
    });
  });
};

/**
 * Builds the response data. Budgeting: each partition gets whole batches up to its partition_max_bytes
 * and the remaining response max_bytes, but always at least its first batch while budget remains, so
 * a batch larger than a limit can never stall a consumer (KIP-74; kafkajs makes no progress on a
 * partial-only record set, notes §6).
 */
function readAll(ctx: RequestContext, request: TopicRequest[], maxBytes: number): FetchResult {
  let bytes = 0;
  let hasError = false;
  const topics = request.map((t) => ({
    topic: t.topic,
    partitions: t.partitions.map((p): PartitionData => {
      const log = ctx.topics.partition(t.topic, p.partition);
      if (!log) {
        hasError = true;
        return {
          partition: p.partition,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          highWatermark: -1,
          batches: [],
        };
      }
      const highWatermark = log.highWatermark;
      if (p.fetchOffset < log.logStartOffset || p.fetchOffset > highWatermark) {
        hasError = true;
        return {
          partition: p.partition,
          errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
          highWatermark,
          batches: [],
        };
      }
      const budget = Math.min(p.maxBytes, maxBytes - bytes);
      if (budget <= 0 || !log.hasDataFrom(p.fetchOffset)) {
        return { partition: p.partition, errorCode: ErrorCode.NONE, highWatermark, batches: [] };
      }
      const read = log.read(p.fetchOffset, budget);
      bytes += read.bytes;
      return { partition: p.partition, errorCode: ErrorCode.NONE, highWatermark, batches: read.batches };
    }),
  }));
  return { topics, bytes, hasError };
}

/** Parks until appends bring min_bytes, max_wait_ms passes, or the connection goes away. */
function longPoll(
  ctx: RequestContext,
  request: TopicRequest[],
  maxBytes: number,
  minBytes: number,
  maxWaitMs: number,
): Promise<FetchResult> {
  return new Promise((resolve) => {
    const unsubscribers: (() => void)[] = [];
    let recheck: NodeJS.Immediate | null = null;
    let done = false;

    const finish = (result?: FetchResult): void => {
      if (done) return;
      done = true;
      ctx.stats.parkedFetches--;
      clearTimeout(timer);
      if (recheck) clearImmediate(recheck);
      for (const unsubscribe of unsubscribers) unsubscribe();
      ctx.signal.removeEventListener('abort', onAbort);
      resolve(result ?? readAll(ctx, request, maxBytes));
    };
    const onAbort = (): void => finish();

    // Re-check on the next turn, so that all partitions appended by one Produce request land in the same
    // response and `partitionsConsumedConcurrently` has something to run in parallel (notes §8).
    const onAppend = (): void => {
      recheck ??= setImmediate(() => {
        recheck = null;
        const result = readAll(ctx, request, maxBytes);
        if (result.bytes >= minBytes || result.hasError) finish(result);
      });
    };

    ctx.stats.parkedFetches++;
    const timer = setTimeout(() => finish(), maxWaitMs);
    ctx.signal.addEventListener('abort', onAbort);
    for (const t of request) {
      for (const p of t.partitions) {
        const log = ctx.topics.partition(t.topic, p.partition);
        if (log) unsubscribers.push(log.onAppend(onAppend));
      }
    }
    if (ctx.signal.aborted) finish();
  });
}
