import { errors, types } from 'cassandra-driver';
import { WikistreamError } from '../../errors.js';

const codes = types.responseErrorCodes;

/**
 * Server answers that retrying cannot fix: a bad statement, a missing table, no permission, bad
 * credentials. Everything else (no host, timeouts, unavailable, overloaded, bootstrapping, a
 * socket closed) is an outage: retriable.
 */
const PERMANENT = new Set<number>([
  codes.syntaxError,
  codes.invalid,
  codes.configError,
  codes.unauthorized,
  codes.badCredentials,
  codes.protocolError,
]);

/** Whether a driver error means "Cassandra cannot be reached or answer now" (try again later). */
export function isTransient(err: unknown): boolean {
  if (err instanceof errors.AuthenticationError) return false;
  if (err instanceof errors.ResponseError) return !PERMANENT.has(err.code);
  if (err instanceof errors.NoHostAvailableError) {
    // At connect time each host's error is inside: bad credentials everywhere is not an outage.
    const inner = Object.values((err.innerErrors ?? {}) as Record<string, unknown>);
    return inner.length === 0 || inner.some((e) => isTransient(e));
  }
  if (err instanceof errors.ArgumentError || err instanceof errors.NotSupportedError) return false;
  return true;
}

/**
 * A driver error as a store error: STORE_UNAVAILABLE, retriable unless permanent, with the
 * driver's error as cause. `doing` names the operation for the log line.
 */
export function toStoreError(err: unknown, doing: string): WikistreamError {
  if (err instanceof WikistreamError) return err;
  const transient = isTransient(err);
  return new WikistreamError(
    'STORE_UNAVAILABLE',
    `${doing} failed${transient ? ' (Cassandra unreachable or overloaded; will retry)' : ''}: ${describe(err)}`,
    { cause: err, retriable: transient },
  );
}

/** One line: the driver's NoHostAvailableError message embeds whole inspected errors per host. */
function describe(err: unknown): string {
  if (err instanceof errors.NoHostAvailableError) {
    const hosts = Object.entries((err.innerErrors ?? {}) as Record<string, unknown>);
    if (hosts.length === 0) return 'no Cassandra host available';
    const each = hosts.map(
      ([host, e]) => `${host}: ${e instanceof Error ? firstLine(e.message) : String(e)}`,
    );
    return `no Cassandra host available (${each.join('; ')})`;
  }
  return err instanceof Error ? firstLine(err.message) : String(err);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
