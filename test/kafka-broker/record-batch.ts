import { ErrorCode } from './errors.js';

/**
 * Record batch v2 header access (notes §6). The broker keeps batches as opaque bytes: it reads a few
 * fixed-position header fields, checks the CRC and overwrites the base offset. It never decompresses.
 */

/** Bytes before `records`; a batch shorter than this cannot be valid. */
export const BATCH_HEADER_SIZE = 61;

const OFF_BASE_OFFSET = 0;
const OFF_BATCH_LENGTH = 8;
const OFF_MAGIC = 16;
const OFF_CRC = 17;
/** The CRC covers attributes .. end, so rewriting base offset / leader epoch keeps it valid (notes §6). */
const OFF_CRC_START = 21;
const OFF_LAST_OFFSET_DELTA = 23;
const OFF_MAX_TIMESTAMP = 35;
const OFF_PRODUCER_ID = 43;
const OFF_PRODUCER_EPOCH = 51;
const OFF_BASE_SEQUENCE = 53;

export interface BatchHeader {
  lastOffsetDelta: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export type ParsedBatch = { ok: true; header: BatchHeader } | { ok: false; errorCode: ErrorCode };

/**
 * Validates a Produce partition's `records` field: exactly one magic-2 batch whose length matches
 * (notes §7 steps 1–3). Kafka answers INVALID_RECORD for a wrong magic or more than one batch, and
 * CORRUPT_MESSAGE for a truncated batch or a CRC mismatch (kafkajs retries the latter).
 */
export function parseProducedBatch(records: Buffer, verifyCrc: boolean): ParsedBatch {
  if (records.length < BATCH_HEADER_SIZE) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE };
  if (records.readInt8(OFF_MAGIC) !== 2) return { ok: false, errorCode: ErrorCode.INVALID_RECORD };
  const batchLength = records.readInt32BE(OFF_BATCH_LENGTH);
  if (batchLength + 12 < records.length) return { ok: false, errorCode: ErrorCode.INVALID_RECORD };
  if (batchLength + 12 > records.length) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE };
  if (verifyCrc && crc32c(records, OFF_CRC_START) !== records.readUInt32BE(OFF_CRC)) {
    return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE };
  }
  const lastOffsetDelta = records.readInt32BE(OFF_LAST_OFFSET_DELTA);
  if (lastOffsetDelta < 0) return { ok: false, errorCode: ErrorCode.CORRUPT_MESSAGE };
  return {
    ok: true,
    header: {
      lastOffsetDelta,
      maxTimestamp: Number(records.readBigInt64BE(OFF_MAX_TIMESTAMP)),
      producerId: Number(records.readBigInt64BE(OFF_PRODUCER_ID)),
      producerEpoch: records.readInt16BE(OFF_PRODUCER_EPOCH),
      baseSequence: records.readInt32BE(OFF_BASE_SEQUENCE),
    },
  };
}

/** Writes the broker-assigned base offset into bytes 0–7 (notes §7 step 5). */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), OFF_BASE_OFFSET);
}

const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32C (Castagnoli) of `buf[from..]`, as an unsigned 32-bit number. */
export function crc32c(buf: Buffer, from = 0): number {
  let crc = -1;
  for (let i = from; i < buf.length; i++) {
    // Both indexes are in range by construction; `?? 0` only satisfies noUncheckedIndexedAccess.
    crc = (CRC32C_TABLE[(crc ^ (buf[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}
