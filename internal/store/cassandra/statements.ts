/**
 * Every CQL statement the store runs, against `keyspace` (a validated identifier, see config).
 * All run prepared; all but `cas` are idempotent (a read, an absolute write, an upsert).
 */
export function statements(keyspace: string) {
  const state = `${keyspace}.partition_state`;
  const where = 'WHERE topic = ? AND kafka_partition = ?';
  return {
    /** The partition's position and totals: one row carries the static columns. */
    statics:
      'SELECT next_offset, offset_base, batches, ids_added, ring_size, total, rejected, bots, humans, last_event_ms ' +
      `FROM ${state} ${where} LIMIT 1`,
    /** Every row of one kind (view load, dedup window load); paged. */
    kindRows: `SELECT key, events, value, seq, version FROM ${state} ${where} AND kind = ?`,
    /** The current rows of the keys a batch touches (read before the conditional write). */
    keyRows: `SELECT key, events, value, seq, version FROM ${state} ${where} AND kind = ? AND key IN ?`,
    /** A slot range of the change ring. */
    changeRows:
      `SELECT key, value, seq, from_offset, version FROM ${state} ${where} ` +
      "AND kind = 'change' AND key >= ? AND key <= ?",
    /** The compare-and-set that makes a batch atomic and idempotent; `IF next_offset = null` when new. */
    cas:
      `UPDATE ${state} SET next_offset = ?, batches = ?, ids_added = ?, ring_size = ?, total = ?, ` +
      `rejected = ?, bots = ?, humans = ?, last_event_ms = ? ${where} IF next_offset = ?`,
    /**
     * The compare-and-set that re-bases a replaced log: a new offset base and one more batch (its
     * change row, empty, keeps the feed a chain). Params: next_offset, offset_base, batches,
     * topic, partition, expected next_offset.
     */
    rebase: `UPDATE ${state} SET next_offset = ?, offset_base = ?, batches = ? ${where} IF next_offset = ?`,
    /** Params: events, version, topic, partition, kind, key. */
    count: `UPDATE ${state} SET events = ?, version = ? ${where} AND kind = ? AND key = ?`,
    /** Params: value, seq, version, topic, partition, kind, key ('id' and 'minute' rows). */
    value: `UPDATE ${state} SET value = ?, seq = ?, version = ? ${where} AND kind = ? AND key = ?`,
    /** Params: value, seq, from_offset, version, topic, partition, key. */
    change:
      `UPDATE ${state} SET value = ?, seq = ?, from_offset = ?, version = ? ${where} ` +
      "AND kind = 'change' AND key = ?",
    registerPartition: `INSERT INTO ${keyspace}.stats_partitions (topic, kafka_partition) VALUES (?, ?)`,
    listPartitions: `SELECT kafka_partition FROM ${keyspace}.stats_partitions WHERE topic = ?`,
    ping: 'SELECT release_version FROM system.local',
  } as const;
}

export type Statements = ReturnType<typeof statements>;
