import { type Client, errors, types } from 'cassandra-driver';
import { REQUIRED_SCHEMA_VERSION } from '../schema.js';
import { statements } from '../statements.js';

type Value = unknown;
type Cells = Map<string, Value>;

interface Partition {
  statics: Cells;
  /** Clustering rows by `${kind}\0${key}`. */
  rows: Map<string, Cells>;
}

const BIGINT = new Set([
  'events',
  'seq',
  'from_offset',
  'version',
  'next_offset',
  'offset_base',
  'batches',
  'ids_added',
  'total',
  'rejected',
  'bots',
  'humans',
  'last_event_ms',
]);

/**
 * An in-process stand-in for one Cassandra keyspace, answering exactly the statements
 * `statements(keyspace)` and the schema check send, with the semantics the store relies on:
 * static columns per partition, clustering order by (kind, key), paging, `IN`, key ranges, a
 * conditional batch applied whole or not at all, and text keys stored as UTF-8. Values come back as the driver returns them
 * (bigint as `types.Long`). It runs the store's own code paths (locks, cached positions, the
 * compare-and-set outcomes, paging, the change feed) through the contract suite on every run;
 * the real database is the gated suite's job (cassandra-store.test.ts).
 */
export class FakeCassandra {
  private readonly partitions = new Map<string, Partition>();
  private readonly registry = new Map<string, Set<number>>();
  /** When true every request fails as if no host answered (an outage). */
  down = false;

  constructor(readonly keyspace: string) {}

  /** A new client ("process") connected to this keyspace. */
  client(): Client {
    return new FakeClient(this) as unknown as Client;
  }

  execute(
    query: string,
    params: readonly Value[],
    options: { fetchSize?: number; pageState?: string },
  ): FakeResult {
    const cql = statements(this.keyspace);
    if (query.startsWith('SELECT table_name FROM system_schema.tables')) return result([{ table_name: 'x' }]);
    if (query === `SELECT version FROM ${this.keyspace}.schema_migrations`) {
      return result([{ version: REQUIRED_SCHEMA_VERSION }]);
    }
    if (query === cql.ping) return result([{ release_version: 'fake' }]);
    if (query === cql.listPartitions) {
      return result([...(this.registry.get(params[0] as string) ?? [])].map((p) => ({ kafka_partition: p })));
    }
    if (query === cql.registerPartition) {
      const [topic, partition] = params as [string, number];
      this.registry.set(topic, (this.registry.get(topic) ?? new Set()).add(partition));
      return result([]);
    }
    const part = this.partitions.get(`${params[0]}:${params[1]}`);
    if (query === cql.statics) {
      if (!part) return result([]);
      const first = [...part.rows.keys()].sort()[0];
      return result([{ ...Object.fromEntries(part.statics), ...rowOf(first, part) }]);
    }
    if (query === cql.kindRows) return page(this.rowsOf(part, params[2] as string), options);
    if (query === cql.keyRows) {
      const keys = new Set((params[3] as string[]).map(storedText));
      return result(this.rowsOf(part, params[2] as string).filter((r) => keys.has(r.key as string)));
    }
    if (query === cql.changeRows) {
      const [first, last] = [params[2] as string, params[3] as string];
      return page(
        this.rowsOf(part, 'change').filter((r) => (r.key as string) >= first && (r.key as string) <= last),
        options,
      );
    }
    throw new Error(`fake Cassandra: unexpected statement ${query}`);
  }

  batch(queries: ReadonlyArray<{ query: string; params?: Value[] }>): FakeResult {
    const cql = statements(this.keyspace);
    const [cas, ...rest] = queries;
    // The static columns each conditional update sets, in parameter order; then topic,
    // partition and the expected next_offset.
    const names =
      cas?.query === cql.cas
        ? ['next_offset', 'batches', 'ids_added', 'ring_size', 'total', 'rejected', 'bots', 'humans']
        : cas?.query === cql.rebase
          ? ['next_offset', 'offset_base', 'batches']
          : undefined;
    if (names === undefined || cas === undefined)
      throw new Error('fake Cassandra: a batch must start with a conditional update');
    if (cas.query === cql.cas) names.push('last_event_ms');
    const params = cas.params ?? [];
    const id = `${params[names.length]}:${params[names.length + 1]}`;
    const current = this.partitions.get(id)?.statics.get('next_offset') ?? null;
    const expected = params[names.length + 2] ?? null;
    if (current !== expected) {
      return result([{ '[applied]': false, ...(current === null ? {} : { next_offset: current }) }]);
    }
    const part = this.partitions.get(id) ?? { statics: new Map(), rows: new Map() };
    this.partitions.set(id, part);
    for (const [i, name] of names.entries()) part.statics.set(name, params[i]);
    for (const { query, params: p = [] } of rest) {
      const set = (kind: string, text: string, cells: Record<string, Value>) => {
        const key = storedText(text);
        const row = part.rows.get(`${kind}\u0000${key}`) ?? new Map();
        for (const [column, value] of Object.entries(cells)) row.set(column, value);
        part.rows.set(`${kind}\u0000${key}`, row);
      };
      if (query === cql.count) set(p[4] as string, p[5] as string, { events: p[0], version: p[1] });
      else if (query === cql.value)
        set(p[5] as string, p[6] as string, { value: p[0], seq: p[1], version: p[2] });
      else if (query === cql.change) {
        set('change', p[6] as string, { value: p[0], seq: p[1], from_offset: p[2], version: p[3] });
      } else throw new Error(`fake Cassandra: unexpected statement in batch ${query}`);
    }
    return result([{ '[applied]': true }]);
  }

  private rowsOf(part: Partition | undefined, kind: string): Array<Record<string, Value>> {
    if (!part) return [];
    return [...part.rows.keys()]
      .filter((k) => k.startsWith(`${kind}\u0000`))
      .sort()
      .map((k) => ({ ...Object.fromEntries(part.statics), ...rowOf(k, part) }));
  }
}

/** A text key as Cassandra keeps it: UTF-8, so a lone UTF-16 surrogate comes back as U+FFFD. */
function storedText(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function rowOf(clustering: string | undefined, part: Partition): Record<string, Value> {
  if (clustering === undefined) return {};
  const [kind, key] = clustering.split('\u0000');
  return { kind, key, ...Object.fromEntries(part.rows.get(clustering) ?? []) };
}

interface FakeResult {
  rows: Array<{ get(column: string): Value }>;
  rowLength: number;
  pageState: string | null;
  wasApplied(): boolean;
}

function result(rows: Array<Record<string, Value>>, pageState: string | null = null): FakeResult {
  const driverRows = rows.map((r) => ({
    get: (column: string) => {
      const value = r[column];
      if (value === undefined || value === null) return null;
      return BIGINT.has(column) && typeof value === 'number' ? types.Long.fromNumber(value) : value;
    },
  }));
  return {
    rows: driverRows,
    rowLength: driverRows.length,
    pageState,
    wasApplied: () => rows[0]?.['[applied]'] !== false,
  };
}

/** Pages of `fetchSize` rows; the page state is the next index, as opaque to the store as the driver's. */
function page(
  rows: Array<Record<string, Value>>,
  options: { fetchSize?: number; pageState?: string },
): FakeResult {
  const size = options.fetchSize ?? 5_000;
  const from = options.pageState === undefined ? 0 : Number.parseInt(options.pageState, 16);
  const next = from + size < rows.length ? (from + size).toString(16) : null;
  return result(rows.slice(from, from + size), next);
}

class FakeClient {
  private closed = false;

  constructor(private readonly cluster: FakeCassandra) {}

  on(): this {
    return this;
  }

  async connect(): Promise<void> {
    this.check();
  }

  async execute(
    query: string,
    params: Value[] = [],
    options: { fetchSize?: number; pageState?: string } = {},
  ) {
    this.check();
    await Promise.resolve(); // answers arrive asynchronously, as from a socket
    return this.cluster.execute(query, params, options);
  }

  async batch(queries: Array<{ query: string; params?: Value[] }>) {
    this.check();
    await Promise.resolve();
    return this.cluster.batch(queries);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('fake Cassandra: client shut down');
    if (this.cluster.down) {
      throw new errors.NoHostAvailableError(
        { 'fake:9042': new Error('connect ECONNREFUSED') },
        'fake outage',
      );
    }
  }
}
