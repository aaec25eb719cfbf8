import { z } from 'zod';
import { WikistreamError } from '../errors.js';

export const DEFAULT_STREAM_URL = 'https://stream.wikimedia.org/v2/stream/recentchange';

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const httpUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

/** `host:port[,host:port...]`, as kafkajs `brokers` wants it (no scheme). */
const brokerList = z
  .string()
  .trim()
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .refine(
    (brokers) =>
      brokers.every((b) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(b) && isClientPort(b.split(':')[1] ?? '')),
    'must be host:port or a comma-separated list of host:port (no scheme), e.g. redpanda:9092',
  );

const bool = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const topicName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name: 1-249 of A-Z a-z 0-9 . _ -')
  .refine((name) => name !== '.' && name !== '..', 'must be a Kafka topic name other than "." and ".."');

/** A port a client connects to: 0 is "any port" only for a server. */
const isClientPort = (port: string) => /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;

/**
 * Every setting, its default and why it exists. `.env.example` and the README document these
 * one by one; keep the three in step.
 */
const schema = z.object({
  WIKIPEDIA_STREAM_URL: httpUrl.default(DEFAULT_STREAM_URL),
  USER_AGENT_CONTACT: z
    .string()
    .trim()
    .min(3, 'must name a contact (URL or e-mail) for the User-Agent, as Wikimedia asks')
    // It goes into a request header: fetch refuses line breaks and anything above U+00FF, so
    // every request would fail; Latin-1 would go out as bytes no server reads back as UTF-8.
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII (a URL or e-mail; no line breaks, no accents or emoji)')
    .default('https://github.com/wikistream/wikistream'),
  REDPANDA_BROKER: brokerList.default(['localhost:9092']),
  KAFKA_TOPIC: topicName.default('wikipedia.changes'),
  KAFKA_DLQ_TOPIC: topicName.default('wikipedia.changes.dlq'),
  KAFKA_PARTITIONS: int(1, 1000).default(6),
  KAFKA_GROUP_ID: z.string().trim().min(1, 'must not be empty').default('wikistream-stats'),
  KAFKA_CLIENT_ID: z.string().trim().min(1, 'must not be empty').default('wikistream'),
  CONSUMER_CONCURRENCY: int(1, 256).default(5),
  KAFKA_SESSION_TIMEOUT_MS: int(3_000, 300_000).default(30_000),
  PRODUCER_MAX_IN_FLIGHT: int(1, 1_000_000).default(10_000),
  PRODUCER_MAX_BATCH: int(1, 100_000).default(2_000),
  STORAGE: z.enum(['memory', 'cassandra'], { message: 'must be memory or cassandra' }).default('memory'),
  CASSANDRA_CONTACT_POINTS: z
    .string()
    .trim()
    .transform((v) => v.split(',').map((p) => p.trim()))
    .refine(
      (points) =>
        points.every((p) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(p) && isClientPort(p.split(':')[1] ?? '9042')),
      { message: 'must be host[:port] (port 1-65535) or a comma-separated list of them' },
    )
    .default(['localhost:9042']),
  CASSANDRA_LOCAL_DC: z.string().trim().min(1, 'must not be empty').default('datacenter1'),
  CASSANDRA_KEYSPACE: z
    .string()
    .trim()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,47}$/, 'must be a CQL identifier: a letter, then letters, digits or _')
    .default('wikistream'),
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
  CASSANDRA_APPLY_SCHEMA: bool.default(true),
  HTTP_HOST: z.string().trim().min(1).default('0.0.0.0'),
  HTTP_PORT: int(0, 65535).default(8080),
  METRICS_PORT: int(0, 65535).default(9464),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty'], { message: 'must be json or pretty' }).default('json'),
  DATA_DIR: z.string().trim().min(1, 'must be a directory path').default('./.data'),
  CHECKPOINT_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  DEDUP_WINDOW: int(1, 10_000_000).default(20_000),
  MAX_EVENT_BYTES: int(1_024, 64 * 1024 * 1024).default(512 * 1024),
  SSE_IDLE_TIMEOUT_MS: int(1_000, 3_600_000).default(60_000),
  SSE_RECONNECT_MIN_MS: int(1, 600_000).default(1_000),
  SSE_RECONNECT_MAX_MS: int(1, 3_600_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  // /stats/stream (internal/http/stats-stream.ts): connected clients at most, one more gets a 503.
  STREAM_MAX_CLIENTS: int(1, 100_000).default(1_000),
});

type Env = z.output<typeof schema>;

export interface Config {
  readonly source: {
    readonly url: string;
    readonly contact: string;
    readonly idleTimeoutMs: number;
    readonly reconnectMinMs: number;
    readonly reconnectMaxMs: number;
    readonly maxEventBytes: number;
  };
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly topic: string;
    readonly dlqTopic: string;
    readonly partitions: number;
    readonly groupId: string;
    readonly clientId: string;
    readonly consumerConcurrency: number;
    readonly sessionTimeoutMs: number;
    readonly producerMaxInFlight: number;
    /** Events per send at most; bounds what a killed producer sends again (see dedupCoversProducerRestart). */
    readonly producerMaxBatch: number;
  };
  readonly storage: 'memory' | 'cassandra';
  readonly cassandra: {
    readonly contactPoints: readonly string[];
    readonly localDataCenter: string;
    readonly keyspace: string;
    readonly credentials?: { readonly username: string; readonly password: string };
    readonly applySchema: boolean;
  };
  readonly http: { readonly host: string; readonly port: number; readonly metricsPort: number };
  readonly log: { readonly level: Env['LOG_LEVEL']; readonly pretty: boolean };
  readonly dataDir: string;
  readonly checkpointIntervalMs: number;
  readonly dedupWindow: number;
  readonly shutdownTimeoutMs: number;
  readonly stream: { readonly maxClients: number };
}

/**
 * Parses the environment once, at start-up, into a frozen typed object. Pure: tests pass plain
 * objects. Throws CONFIG_INVALID with one line per bad variable, naming it and what is allowed.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`FOO=` in .env) means "use the default", as docker compose users expect.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const got = env[name];
      const shown = name.includes('PASSWORD') ? '' : ` (got ${JSON.stringify(got)})`;
      return `${name} ${issue.message}${shown}`;
    });
    throw new WikistreamError('CONFIG_INVALID', `invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e.SSE_RECONNECT_MAX_MS < e.SSE_RECONNECT_MIN_MS) {
    throw new WikistreamError(
      'CONFIG_INVALID',
      `invalid configuration: SSE_RECONNECT_MAX_MS must be at least SSE_RECONNECT_MIN_MS (${e.SSE_RECONNECT_MIN_MS})`,
    );
  }
  if (e.KAFKA_TOPIC === e.KAFKA_DLQ_TOPIC) {
    throw new WikistreamError(
      'CONFIG_INVALID',
      `invalid configuration: KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC (both ${JSON.stringify(e.KAFKA_TOPIC)}): dead letters would be consumed as events`,
    );
  }
  if ((e.CASSANDRA_USERNAME === undefined) !== (e.CASSANDRA_PASSWORD === undefined)) {
    throw new WikistreamError(
      'CONFIG_INVALID',
      'invalid configuration: CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together',
    );
  }
  dedupCoversProducerRestart(e.DEDUP_WINDOW, e.PRODUCER_MAX_BATCH);
  const config: Config = {
    source: {
      url: e.WIKIPEDIA_STREAM_URL,
      contact: e.USER_AGENT_CONTACT,
      idleTimeoutMs: e.SSE_IDLE_TIMEOUT_MS,
      reconnectMinMs: e.SSE_RECONNECT_MIN_MS,
      reconnectMaxMs: e.SSE_RECONNECT_MAX_MS,
      maxEventBytes: e.MAX_EVENT_BYTES,
    },
    kafka: {
      brokers: e.REDPANDA_BROKER,
      topic: e.KAFKA_TOPIC,
      dlqTopic: e.KAFKA_DLQ_TOPIC,
      partitions: e.KAFKA_PARTITIONS,
      groupId: e.KAFKA_GROUP_ID,
      clientId: e.KAFKA_CLIENT_ID,
      consumerConcurrency: e.CONSUMER_CONCURRENCY,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
      producerMaxInFlight: e.PRODUCER_MAX_IN_FLIGHT,
      producerMaxBatch: e.PRODUCER_MAX_BATCH,
    },
    storage: e.STORAGE,
    cassandra: {
      contactPoints: e.CASSANDRA_CONTACT_POINTS,
      localDataCenter: e.CASSANDRA_LOCAL_DC,
      keyspace: e.CASSANDRA_KEYSPACE,
      ...(e.CASSANDRA_USERNAME !== undefined && e.CASSANDRA_PASSWORD !== undefined
        ? { credentials: { username: e.CASSANDRA_USERNAME, password: e.CASSANDRA_PASSWORD } }
        : {}),
      applySchema: e.CASSANDRA_APPLY_SCHEMA,
    },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT, metricsPort: e.METRICS_PORT },
    log: { level: e.LOG_LEVEL, pretty: e.LOG_FORMAT === 'pretty' },
    dataDir: e.DATA_DIR,
    checkpointIntervalMs: e.CHECKPOINT_INTERVAL_MS,
    dedupWindow: e.DEDUP_WINDOW,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    stream: { maxClients: e.STREAM_MAX_CLIENTS },
  };
  return deepFreeze(config);
}

/**
 * kafka-guarantees: the exactly-once bound between two settings. A producer killed at any moment
 * has at most 2 x PRODUCER_MAX_BATCH events in the log after its persisted cursor (at most two
 * batches acknowledged but not yet persisted, or sent but not acknowledged) and sends them again, in the
 * same order, on restart; two copies of one event are therefore fewer than 2 x PRODUCER_MAX_BATCH
 * distinct ids apart in their partition, and the consumer drops the second copy only if its dedup
 * window reaches that far. Checked in every binary, since they share one environment.
 */
function dedupCoversProducerRestart(dedupWindow: number, producerMaxBatch: number): void {
  if (dedupWindow < 2 * producerMaxBatch) {
    throw new WikistreamError(
      'CONFIG_INVALID',
      `invalid configuration: DEDUP_WINDOW (${dedupWindow}) must be at least 2 x PRODUCER_MAX_BATCH ` +
        `(${2 * producerMaxBatch}), or a restarted producer's re-sent events could be counted twice`,
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
