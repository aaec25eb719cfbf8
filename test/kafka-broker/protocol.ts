import type { Reader, Writer } from './codec.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { TopicStore } from './topics.js';

/** API keys served by this broker (notes §1). */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  ApiVersions: 18,
  CreateTopics: 19,
  InitProducerId: 22,
} as const;

export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

/** Request header v1 (notes §2). No API version served here is flexible, so there is no header v2. */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export function readRequestHeader(r: Reader): RequestHeader {
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32(), clientId: r.nullableString() };
}

/** Facts about this broker that responses advertise (Metadata, FindCoordinator). */
export interface BrokerIdentity {
  nodeId: number;
  host: string;
  port: number;
}

/** Live counters, for tests and diagnostics. */
export interface BrokerStats {
  /** Fetch requests currently parked in a long-poll. */
  parkedFetches: number;
}

/** Everything a request handler may use. */
export interface RequestContext {
  header: RequestHeader;
  broker: BrokerIdentity;
  topics: TopicStore;
  groups: GroupCoordinator;
  autoCreateTopics: boolean;
  verifyCrc: boolean;
  stats: BrokerStats;
  allocateProducerId(): number;
  /** Aborted when the client connection closes or the broker stops; long-polls must give up then. */
  signal: AbortSignal;
  /** Set by a handler to send no response at all (Produce with acks=0, notes §5). */
  noResponse: boolean;
  log(message: string): void;
}

/** Decodes the request body from `r` and writes the response body (after the correlation id) into `w`. */
export type ApiHandler = (ctx: RequestContext, r: Reader, w: Writer) => void | Promise<void>;

export interface ApiDefinition {
  key: ApiKey;
  /**
   * The single version served. kafkajs takes min(its max, advertised max) and never looks at the
   * minimum, so min = max is advertised (notes §1). ApiVersions itself is the only range.
   */
  minVersion: number;
  maxVersion: number;
  handle: ApiHandler;
}
