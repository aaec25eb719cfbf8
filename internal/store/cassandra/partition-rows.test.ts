import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import {
  CHANGE_RING,
  changeSlotKey,
  changeSlotRanges,
  EMPTY_STATICS,
  staticsFromRow,
  toNumber,
  windowFromIdRows,
} from './partition-rows.js';

const row = (values: Record<string, unknown>) => ({ get: (column: string) => values[column] ?? null });

describe('partition rows', () => {
  it('reads static columns as the driver returns them (bigint as Long, int as number)', () => {
    const statics = staticsFromRow(
      row({
        next_offset: types.Long.fromNumber(1234567890123),
        offset_base: types.Long.fromNumber(90),
        batches: types.Long.fromNumber(7),
        ids_added: types.Long.fromNumber(40),
        ring_size: 20000,
        total: types.Long.fromNumber(38),
        rejected: types.Long.fromNumber(2),
        bots: types.Long.fromNumber(10),
        humans: types.Long.fromNumber(28),
        last_event_ms: types.Long.fromNumber(1_777_979_860_822),
      }),
    );
    expect(statics).toEqual({
      exists: true,
      nextOffset: 1234567890123,
      offsetBase: 90,
      batches: 7,
      idsAdded: 40,
      ringSize: 20000,
      total: 38,
      rejected: 2,
      bots: 10,
      humans: 28,
      lastEventMs: 1_777_979_860_822,
    });
  });

  it('a partition written before migration 002 (offset_base null) has base 0', () => {
    expect(staticsFromRow(row({ next_offset: types.Long.fromNumber(5) })).offsetBase).toBe(0);
  });

  it('a partition never written (no row, or no next_offset) is empty and compares against null', () => {
    expect(staticsFromRow(undefined)).toBe(EMPTY_STATICS);
    expect(staticsFromRow(row({}))).toEqual(EMPTY_STATICS);
    expect(EMPTY_STATICS.exists).toBe(false);
  });

  it('refuses a bigint JavaScript cannot hold exactly', () => {
    expect(() => toNumber(types.Long.fromString('9007199254740993'))).toThrow(RangeError);
    expect(toNumber(null)).toBe(0);
  });

  it('rebuilds the dedup window oldest first from ring rows, ignoring rows outside it', () => {
    const rows = [
      { value: 'e9', seq: 9 },
      { value: 'e7', seq: 7 },
      { value: 'old', seq: 2 }, // a leftover of a larger ring
      { value: 'e8', seq: 8 },
      { value: 'future', seq: 10 }, // written after the statics we read
    ];
    expect(windowFromIdRows(rows, 10, 3)).toEqual(['e7', 'e8', 'e9']);
    expect(windowFromIdRows(rows, 10, 100)).toEqual(['old', 'e7', 'e8', 'e9']);
  });

  it('maps a run of batches to slot ranges of the change ring, wrapping when needed', () => {
    expect(changeSlotRanges(5, 5)).toEqual([]);
    expect(changeSlotRanges(5, 8)).toEqual([['0005', '0007']]);
    expect(changeSlotRanges(CHANGE_RING - 2, CHANGE_RING + 1)).toEqual([
      [changeSlotKey(CHANGE_RING - 2), changeSlotKey(CHANGE_RING - 1)],
      ['0000', '0000'],
    ]);
    expect(changeSlotRanges(0, CHANGE_RING)).toEqual([['0000', changeSlotKey(CHANGE_RING - 1)]]);
    // A full lap starting mid-ring covers every slot exactly once, in two ranges.
    const full = changeSlotRanges(3 * CHANGE_RING + 10, 4 * CHANGE_RING + 10);
    expect(full).toEqual([
      ['0010', changeSlotKey(CHANGE_RING - 1)],
      ['0000', '0009'],
    ]);
    expect(() => changeSlotRanges(0, CHANGE_RING + 1)).toThrow(RangeError);
  });
});
