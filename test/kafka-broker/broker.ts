import { createServer, type Server, type Socket } from 'node:net';
import { findApi } from './apis/index.js';
import { Reader, Writer } from './codec.js';
import { Connection } from './connection.js';
import { GroupCoordinator } from './group-coordinator.js';
import {
  ApiKey,
  type BrokerIdentity,
  type BrokerStats,
  type RequestContext,
  readRequestHeader,
} from './protocol.js';
import { TopicStore } from './topics.js';

/** API names accepted by `loseResponses`, e.g. 'Produce'. */
export type ApiName = keyof typeof ApiKey;

export interface KafkaTestBrokerOptions {
  /** TCP port; 0 (default) picks an ephemeral one on the first start and keeps it for restarts. */
  port?: number;
  /** Listen and advertise address. kafkajs reuses the seed connection only if it matches exactly (notes §5). */
  host?: string;
  nodeId?: number;
  /** Partitions of auto-created topics and of CreateTopics with num_partitions −1. Default 1. */
  defaultPartitions?: number;
  /** Create unknown topics named in a Metadata request (notes §9). Default true. */
  autoCreateTopics?: boolean;
  /** Kafka's `group.initial.rebalance.delay.ms`. Default 0. */
  initialRebalanceDelayMs?: number;
  /** Check record batch CRC-32C on produce. Default true. */
  verifyCrc?: boolean;
  /** Receives diagnostic lines (group transitions, topic creation, protocol errors). */
  logger?: (message: string) => void;
  /** Also log one line per request (api key, version, correlation id) to `logger`. */
  logRequests?: boolean;
}

/**
 * Single-node, in-memory broker speaking enough of the Kafka protocol for kafkajs 2.2.4
 * (see /work/shared/kafka-protocol-notes.md). Data (topics, logs, producer state, groups and committed
 * offsets) lives in this object, so `stop()` + `start()` rehearses a broker outage on the same port.
 */
export class KafkaTestBroker {
  readonly host: string;
  private currentPort: number;
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private topics: TopicStore;
  private groups: GroupCoordinator;
  private readonly identity: BrokerIdentity;
  private readonly stats: BrokerStats = { parkedFetches: 0 };
  private readonly lostResponses = new Map<number, number>();
  private nextProducerId = 1000;
  private closed = false;
  private readonly log: (message: string) => void;

  constructor(private readonly options: KafkaTestBrokerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.currentPort = options.port ?? 0;
    this.log = options.logger ?? debugLoggerFromEnv() ?? (() => {});
    this.topics = new TopicStore(options.defaultPartitions ?? 1);
    this.groups = this.newGroups();
    this.identity = { nodeId: options.nodeId ?? 1, host: this.host, port: this.currentPort };
  }

  /** The listening port (after the first start, the same one across restarts). */
  get port(): number {
    return this.currentPort;
  }

  /** `host:port`, ready for kafkajs `brokers: [broker.address]`. */
  get address(): string {
    return `${this.host}:${this.currentPort}`;
  }

  /** Fetch requests currently waiting in a long-poll (lets tests know a consumer is parked). */
  get parkedFetches(): number {
    return this.stats.parkedFetches;
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Starts listening, on the same port as before if it was started already. */
  async start(): Promise<void> {
    if (this.closed) throw new Error('KafkaTestBroker is closed');
    if (this.server) return;
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.currentPort, host: this.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.log(`listener error: ${error.message}`));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected listener address');
    this.currentPort = address.port;
    this.identity.port = address.port;
    this.server = server;
    this.groups.restartSessionTimers();
    this.log(`listening on ${this.address}`);
  }

  /** Closes the listener and destroys every client socket. All data is kept for `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    await closed;
    this.log('stopped');
  }

  /**
   * Stops, and forgets everything (topics and their logs, producer state, groups and committed
   * offsets): `start()` then brings back a broker that lost its data on the same port, as a
   * Kafka/Redpanda node whose disk was wiped, or a topic deleted and recreated, looks to clients.
   */
  async stopAndLoseData(): Promise<void> {
    await this.stop();
    this.groups.shutdown();
    this.topics = new TopicStore(this.options.defaultPartitions ?? 1);
    this.groups = this.newGroups();
    this.log('data lost');
  }

  /** Final shutdown: stop and clear every group timer. */
  async close(): Promise<void> {
    await this.stop();
    this.groups.shutdown();
    this.closed = true;
  }

  /** Creates a topic directly (no client needed). Throws if it exists or the arguments are invalid. */
  createTopic(name: string, partitions = this.options.defaultPartitions ?? 1): void {
    const errorCode = this.topics.validateCreate(name, partitions);
    if (errorCode !== 0) throw new Error(`cannot create topic ${name}: Kafka error ${errorCode}`);
    this.topics.create(name, partitions);
  }

  /**
   * Fault injection: the next `count` requests of `api` are processed normally, but instead of the
   * response the client gets a closed connection, as if the acknowledgement was lost on the network.
   * Clients then retry (an idempotent producer with the same sequence, which must be deduplicated).
   */
  loseResponses(api: ApiName, count = 1): void {
    const key = ApiKey[api];
    this.lostResponses.set(key, (this.lostResponses.get(key) ?? 0) + count);
  }

  /** High watermark of every partition of `topic`, or [] if it does not exist. */
  topicEndOffsets(topic: string): number[] {
    return this.topics.get(topic)?.partitions.map((log) => log.highWatermark) ?? [];
  }

  /** Committed offset per partition of `topic` for `groupId` (null where nothing is committed). */
  committedOffsets(groupId: string, topic: string): (number | null)[] {
    const count = this.topics.get(topic)?.partitions.length ?? 0;
    return Array.from(
      { length: count },
      (_, p) => this.groups.committedOffset(groupId, topic, p)?.offset ?? null,
    );
  }

  private newGroups(): GroupCoordinator {
    return new GroupCoordinator({
      initialRebalanceDelayMs: this.options.initialRebalanceDelayMs ?? 0,
      logger: this.log,
    });
  }

  private accept(socket: Socket): void {
    if (!this.server) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      (frame, signal) => this.handleFrame(frame, signal),
      (error) => this.log(`connection ${socket.remoteAddress}:${socket.remotePort} closed: ${String(error)}`),
    );
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
  }

  private async handleFrame(frame: Buffer, signal: AbortSignal): Promise<Buffer[] | null> {
    const reader = new Reader(frame);
    const header = readRequestHeader(reader);
    const api = findApi(header.apiKey, header.apiVersion);
    if (!api) {
      // Kafka closes the connection on a request it cannot parse; kafkajs never sends one for the
      // versions advertised (notes §1).
      throw new Error(`unsupported request: api key ${header.apiKey} version ${header.apiVersion}`);
    }
    const ctx: RequestContext = {
      header,
      broker: this.identity,
      topics: this.topics,
      groups: this.groups,
      autoCreateTopics: this.options.autoCreateTopics ?? true,
      verifyCrc: this.options.verifyCrc ?? true,
      stats: this.stats,
      allocateProducerId: () => this.nextProducerId++,
      signal,
      noResponse: false,
      log: this.log,
    };
    if (this.options.logRequests || process.env.KAFKA_TEST_BROKER_DEBUG === 'requests') {
      this.log(
        `request ${header.clientId} api ${header.apiKey} v${header.apiVersion} #${header.correlationId}`,
      );
    }
    const writer = new Writer().int32(header.correlationId); // response header v0
    await api.handle(ctx, reader, writer);
    const toLose = this.lostResponses.get(api.key) ?? 0;
    if (toLose > 0) {
      this.lostResponses.set(api.key, toLose - 1);
      throw new Error(`losing the response to api key ${api.key} (fault injection)`);
    }
    return ctx.noResponse || signal.aborted ? null : writer.toChunks();
  }
}

/**
 * Without a `logger` option, KAFKA_TEST_BROKER_DEBUG=1 sends diagnostics to stderr, so the broker of
 * any test can be inspected without editing it (`=requests` also logs every request).
 */
function debugLoggerFromEnv(): ((message: string) => void) | undefined {
  if (!process.env.KAFKA_TEST_BROKER_DEBUG) return undefined;
  return (message) => process.stderr.write(`[kafka-test-broker] ${message}\n`);
}

/** Creates and starts a broker; see KafkaTestBrokerOptions. */
export async function startKafkaBroker(options: KafkaTestBrokerOptions = {}): Promise<KafkaTestBroker> {
  const broker = new KafkaTestBroker(options);
  await broker.start();
  return broker;
}
