import type { Client, types } from 'cassandra-driver';
import type { PartitionKey } from '../../stats/batch-plan.js';
import { type PartitionStatics, staticsFromRow } from './partition-rows.js';
import type { Statements } from './statements.js';

/** Rows per page when a read walks a whole slice (view load, dedup window, change feed). */
export const DEFAULT_PAGE_SIZE = 5_000;

/**
 * Every row of a prepared, idempotent read, page by page: a Cassandra partition can hold hundreds
 * of thousands of rows, and one unpaged read of them would time out or exhaust the heap.
 */
export async function* pagedRows(
  client: Client,
  query: string,
  params: unknown[],
  pageSize = DEFAULT_PAGE_SIZE,
): AsyncGenerator<types.Row> {
  let pageState: string | undefined;
  do {
    const rs: types.ResultSet = await client.execute(query, params, {
      prepare: true,
      isIdempotent: true,
      fetchSize: pageSize,
      ...(pageState === undefined ? {} : { pageState }),
    });
    yield* rs.rows;
    pageState = rs.pageState ?? undefined;
  } while (pageState !== undefined);
}

/**
 * A partition's static columns: at LOCAL_SERIAL for the write path (which also completes a
 * half-done compare-and-set), LOCAL_QUORUM for the view.
 */
export async function readStatics(
  client: Client,
  cql: Statements,
  key: PartitionKey,
  consistency: types.consistencies,
): Promise<PartitionStatics> {
  const rs = await client.execute(cql.statics, [key.topic, key.partition], {
    prepare: true,
    isIdempotent: true,
    consistency,
  });
  return staticsFromRow(rs.rows[0]);
}
