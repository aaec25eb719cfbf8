/**
 * Big-endian primitives of the Kafka wire protocol (notes §2). Only the non-flexible encodings are
 * needed: every API version this broker advertises uses INT16-length strings and INT32-length
 * bytes/arrays, never compact (varint) forms or tagged fields.
 */

/** Thrown when a request is shorter than its schema says; the connection is then closed, as Kafka does. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new DecodeError(`need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1));
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    return this.buf.readInt16BE(this.take(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.take(4));
  }

  /** Offsets, producer ids and timestamps all fit in a double (< 2^53), so int64 is read as a number. */
  int64(): number {
    return Number(this.buf.readBigInt64BE(this.take(8)));
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    const at = this.take(len);
    return this.buf.toString('utf8', at, at + len);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new DecodeError('unexpected null STRING');
    return s;
  }

  /** Returns a view into the request frame; copy it before keeping it beyond the request. */
  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    const at = this.take(len);
    return this.buf.subarray(at, at + len);
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(item(this));
    return out;
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }
}

/**
 * Builds a response as a list of chunks. Small fields go into a growable scratch buffer; large byte
 * blobs (fetched record batches) are kept by reference so a fetch response is copied only once, when
 * the frame is assembled.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(256);
  private pos = 0;
  private flushedLength = 0;

  get length(): number {
    return this.flushedLength + this.pos;
  }

  /**
   * Reserves `n` bytes in the scratch buffer and returns their position. It may swap the scratch
   * buffer, so always call it *before* reading `this.scratch` (not inside `this.scratch.write(…)`'s
   * argument list, where the old buffer would already have been picked).
   */
  private ensure(n: number): number {
    if (this.pos + n > this.scratch.length) {
      this.flushScratch();
      if (n > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(n, 256));
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private flushScratch(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.pos));
    this.flushedLength += this.pos;
    // The flushed view still references the old scratch buffer, so continue in a fresh one.
    this.scratch = Buffer.allocUnsafe(this.scratch.length);
    this.pos = 0;
  }

  int8(v: number): this {
    const at = this.ensure(1);
    this.scratch.writeInt8(v, at);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    const at = this.ensure(2);
    this.scratch.writeInt16BE(v, at);
    return this;
  }

  int32(v: number): this {
    const at = this.ensure(4);
    this.scratch.writeInt32BE(v, at);
    return this;
  }

  int64(v: number): this {
    const at = this.ensure(8);
    this.scratch.writeBigInt64BE(BigInt(v), at);
    return this;
  }

  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    const len = Buffer.byteLength(v, 'utf8');
    this.int16(len);
    const at = this.ensure(len);
    this.scratch.write(v, at, 'utf8');
    return this;
  }

  string(v: string): this {
    return this.nullableString(v);
  }

  /** Writes INT32 length + the concatenation of `parts`, keeping large parts by reference. */
  bytesParts(parts: readonly Buffer[]): this {
    let len = 0;
    for (const p of parts) len += p.length;
    this.int32(len);
    for (const p of parts) this.raw(p);
    return this;
  }

  nullableBytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.bytesParts([v]);
  }

  bytes(v: Buffer): this {
    return this.nullableBytes(v);
  }

  /** Appends bytes without a length prefix. */
  raw(v: Buffer): this {
    if (v.length <= 64) {
      const at = this.ensure(v.length);
      v.copy(this.scratch, at);
    } else {
      this.flushScratch();
      this.chunks.push(v);
      this.flushedLength += v.length;
    }
    return this;
  }

  array<T>(items: readonly T[], item: (w: Writer, v: T, index: number) => void): this {
    this.int32(items.length);
    for (let i = 0; i < items.length; i++) item(this, items[i] as T, i);
    return this;
  }

  nullableArray<T>(items: readonly T[] | null, item: (w: Writer, v: T, index: number) => void): this {
    if (items === null) return this.int32(-1);
    return this.array(items, item);
  }

  toChunks(): Buffer[] {
    this.flushScratch();
    return this.chunks;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.toChunks());
  }
}
