import { describe, expect, it } from 'vitest';
import { Reader, Writer } from './codec.js';

describe('Writer/Reader', () => {
  it('round-trips every primitive across scratch-buffer boundaries', () => {
    const w = new Writer();
    const big = Buffer.alloc(300, 7);
    for (let i = 0; i < 200; i++) {
      w.int8(-(i % 128))
        .int16(-3 * i)
        .int32(i * 100_003)
        .int64(2 ** 40 + i)
        .string(`s${i}é`)
        .nullableString(i % 2 ? null : 'x')
        .bool(i % 3 === 0)
        .bytes(i % 10 ? Buffer.from([i & 0xff]) : big)
        .nullableBytes(null);
    }
    w.array([1, 2, 3], (w, v, i) => w.int32(v * 10 + i));
    const buf = w.toBuffer();
    expect(buf.length).toBe(w.length);

    const r = new Reader(buf);
    for (let i = 0; i < 200; i++) {
      expect(r.int8()).toBe(-(i % 128) || 0);
      expect(r.int16()).toBe(-3 * i || 0);
      expect(r.int32()).toBe(i * 100_003);
      expect(r.int64()).toBe(2 ** 40 + i);
      expect(r.string()).toBe(`s${i}é`);
      expect(r.nullableString()).toBe(i % 2 ? null : 'x');
      expect(r.bool()).toBe(i % 3 === 0);
      expect(r.bytes().equals(i % 10 ? Buffer.from([i & 0xff]) : big)).toBe(true);
      expect(r.nullableBytes()).toBeNull();
    }
    expect(r.array((r) => r.int32())).toEqual([10, 21, 32]);
    expect(r.remaining).toBe(0);
  });

  it('rejects reads past the end', () => {
    expect(() => new Reader(Buffer.from([0, 5, 65])).string()).toThrow(/need 5 bytes/);
  });
});
