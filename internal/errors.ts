/**
 * Errors carry a stable code, a cause and a retry flag, so callers decide on retries by
 * `retriable`, never by parsing messages (as kafkajs `retriable` and platformatic/kafka `canRetry`).
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'EVENT_INVALID',
  'SOURCE_HTTP_STATUS',
  'STORE_UNAVAILABLE',
  'STORE_CONFLICT',
  /** The Cassandra schema is older than the code (or absent): apply db/migrations. */
  'STORE_SCHEMA_OUTDATED',
  /** A batch too large for one atomic store write: the consumer must plan smaller batches. */
  'STORE_PLAN_TOO_LARGE',
  /** The store cannot move a partition's position back for a replaced log (see StatsStore.rebase). */
  'STORE_REBASE_UNSUPPORTED',
  'CHECKPOINT_CORRUPT',
  'SHUTDOWN_TIMEOUT',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class WikistreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WikistreamError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof WikistreamError ? err.retriable : false;
}
