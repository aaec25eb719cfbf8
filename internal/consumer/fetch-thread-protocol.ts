import type { ConsumerConfig } from 'kafkajs';
import type { Config } from '../config/config.js';
import type { TransferredBatch } from './batch-transfer.js';

/**
 * Batches of one partition the fetch thread hands over before the main thread has finished them:
 * one being stored and one waiting, so fetching and storing overlap and memory stays bounded
 * (at most twice the fetch size per partition).
 */
export const MAX_IN_FLIGHT = 2;

export interface FetchThreadData {
  readonly config: Config;
}

/** kafkajs consumer settings (the same whichever thread runs it). */
export function consumerOptions(config: Config): ConsumerConfig {
  return {
    groupId: config.kafka.groupId,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 10)),
    rebalanceTimeout: Math.max(config.kafka.sessionTimeoutMs, 30_000),
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  };
}

/** Main thread -> fetch thread. */
export type ToFetchThread =
  /** The main thread finished a batch of this partition handed over in `generation`. */
  | { readonly type: 'done'; readonly topic: string; readonly partition: number; readonly generation: number }
  /** Stored: commit `offset` (the next offset to read). */
  | { readonly type: 'commit'; readonly topic: string; readonly partition: number; readonly offset: number }
  | { readonly type: 'seek'; readonly topic: string; readonly partition: number; readonly offset: number }
  /** Finish pending commits, leave the group, disconnect, then exit. */
  | { readonly type: 'stop' };

/** Fetch thread -> main thread. */
export type FromFetchThread =
  | { readonly type: 'started' }
  | { readonly type: 'failed'; readonly message: string; readonly name: string }
  | { readonly type: 'batch'; readonly batch: TransferredBatch }
  | {
      readonly type: 'joined';
      readonly generation: number;
      readonly memberId: string;
      readonly isLeader: boolean;
      readonly assignment: Record<string, number[]>;
    }
  | { readonly type: 'crash'; readonly message: string; readonly name: string; readonly restart: boolean }
  | { readonly type: 'committed'; readonly seconds: number }
  /** kafkajs stopped the consumer (a crash without restart, or our stop). */
  | { readonly type: 'consumer-stopped' }
  /** The thread is about to exit. */
  | { readonly type: 'stopped' };
