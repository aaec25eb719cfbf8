import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.js';
import { PartitionLog } from './log.js';
import { BATCH_HEADER_SIZE, crc32c } from './record-batch.js';

interface BatchSpec {
  count?: number;
  producerId?: number;
  epoch?: number;
  baseSequence?: number;
  maxTimestamp?: number;
  bodyBytes?: number;
}

/** A record batch v2 as kafkajs would send it (notes §6); the records themselves are opaque filler. */
function batch({
  count = 1,
  producerId = -1,
  epoch = 0,
  baseSequence = -1,
  maxTimestamp = 1_000,
  bodyBytes = 10,
}: BatchSpec = {}): Buffer {
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + bodyBytes, 0xab);
  buf.writeBigInt64BE(0n, 0); // base offset: the broker assigns it
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(0, 12); // partition leader epoch
  buf.writeInt8(2, 16); // magic
  buf.writeInt16BE(1, 21); // attributes: gzip
  buf.writeInt32BE(count - 1, 23);
  buf.writeBigInt64BE(BigInt(maxTimestamp - 1), 27);
  buf.writeBigInt64BE(BigInt(maxTimestamp), 35);
  buf.writeBigInt64BE(BigInt(producerId), 43);
  buf.writeInt16BE(epoch, 51);
  buf.writeInt32BE(baseSequence, 53);
  buf.writeInt32BE(count, 57);
  buf.writeUInt32BE(crc32c(buf, 21), 17);
  return buf;
}

const baseOffsetOf = (b: Buffer): number => Number(b.readBigInt64BE(0));

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

describe('PartitionLog', () => {
  it('assigns consecutive offsets and rewrites the base offset bytes', () => {
    const log = new PartitionLog();
    expect(log.append(batch({ count: 3 }), true)).toEqual({ errorCode: 0, baseOffset: 0, duplicate: false });
    expect(log.append(batch({ count: 2 }), true)).toEqual({ errorCode: 0, baseOffset: 3, duplicate: false });
    expect(log.highWatermark).toBe(5);
    const read = log.read(0, 1 << 20);
    expect(read.batches.map(baseOffsetOf)).toEqual([0, 3]);
    expect(read.bytes).toBe(read.batches.reduce((n, b) => n + b.length, 0));
  });

  it('starts a read at the batch containing the offset and returns at least one whole batch', () => {
    const log = new PartitionLog();
    for (let i = 0; i < 5; i++) log.append(batch({ count: 10, bodyBytes: 100 }), true);
    expect(log.read(0, 1).batches.map(baseOffsetOf)).toEqual([0]); // over maxBytes, still one
    expect(log.read(25, 1).batches.map(baseOffsetOf)).toEqual([20]);
    expect(log.read(29, 2 * 161).batches.map(baseOffsetOf)).toEqual([20, 30]);
    expect(log.read(30, 1 << 20).batches.map(baseOffsetOf)).toEqual([30, 40]);
    expect(log.read(50, 1 << 20).batches).toEqual([]);
    expect(log.hasDataFrom(49)).toBe(true);
    expect(log.hasDataFrom(50)).toBe(false);
  });

  it('answers a retried idempotent batch with its original offset instead of appending it', () => {
    const log = new PartitionLog();
    const ids = { producerId: 7, epoch: 0 };
    log.append(batch({ ...ids, baseSequence: 0, count: 5 }), true);
    log.append(batch({ ...ids, baseSequence: 5, count: 5 }), true);
    const retry = log.append(batch({ ...ids, baseSequence: 5, count: 5 }), true);
    expect(retry).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 5, duplicate: true });
    expect(log.append(batch({ ...ids, baseSequence: 0, count: 5 }), true).baseOffset).toBe(0);
    expect(log.highWatermark).toBe(10);
    expect(log.append(batch({ ...ids, baseSequence: 10, count: 1 }), true).baseOffset).toBe(10);
  });

  it('keeps five batches per producer for deduplication; older retries are out of order', () => {
    const log = new PartitionLog();
    for (let i = 0; i < 6; i++) log.append(batch({ producerId: 1, baseSequence: i }), true);
    expect(log.append(batch({ producerId: 1, baseSequence: 1 }), true).duplicate).toBe(true);
    expect(log.append(batch({ producerId: 1, baseSequence: 0 }), true).errorCode).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
  });

  it('rejects sequence gaps and fenced epochs, and accepts a new epoch', () => {
    const log = new PartitionLog();
    log.append(batch({ producerId: 3, epoch: 1, baseSequence: 0, count: 2 }), true);
    expect(log.append(batch({ producerId: 3, epoch: 1, baseSequence: 3 }), true).errorCode).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect(log.append(batch({ producerId: 3, epoch: 0, baseSequence: 2 }), true).errorCode).toBe(
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect(log.append(batch({ producerId: 3, epoch: 2, baseSequence: 0 }), true).errorCode).toBe(
      ErrorCode.NONE,
    );
    expect(log.highWatermark).toBe(3);
  });

  it('wraps sequences after Int32.Max', () => {
    const log = new PartitionLog();
    const max = 2 ** 31 - 1;
    log.append(batch({ producerId: 4, baseSequence: max - 1, count: 2 }), true);
    expect(log.append(batch({ producerId: 4, baseSequence: 0, count: 1 }), true).errorCode).toBe(
      ErrorCode.NONE,
    );
  });

  it('rejects corrupt and invalid record sets with Kafka error codes', () => {
    const log = new PartitionLog();
    const badCrc = batch();
    badCrc[BATCH_HEADER_SIZE] = 0;
    expect(log.append(badCrc, true).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(log.append(badCrc, false).errorCode).toBe(ErrorCode.NONE);
    const magic1 = batch();
    magic1.writeInt8(1, 16);
    expect(log.append(magic1, true).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(log.append(Buffer.concat([batch(), batch()]), true).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(log.append(batch().subarray(0, 70), true).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(log.append(Buffer.alloc(0), true).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(log.highWatermark).toBe(1);
  });

  it('notifies append listeners until they unsubscribe', () => {
    const log = new PartitionLog();
    let calls = 0;
    const unsubscribe = log.onAppend(() => calls++);
    log.append(batch(), true);
    unsubscribe();
    log.append(batch(), true);
    expect(calls).toBe(1);
  });
});
