/**
 * Bytes the wire may carry for one event besides its `data:` payload: the `event:` and `id:`
 * lines, field names, line ends. An event within MAX_EVENT_BYTES is never cut here; one a little
 * over it arrives whole and is rejected by `parseRecentChange` as before.
 */
export const FRAMING_SLACK_BYTES = 16 * 1024;

/**
 * An event past the limit is skipped in the stream while it stays under this many times the limit
 * on the wire; past that the connection is dropped (an event that never ends cannot be skipped).
 */
export const SKIP_FACTOR = 16;

/**
 * The SSE event type the guard gives what the parser already holds of an event it skips: the
 * parser dispatches it in stream order, so the rejection is reported between the events around it.
 */
export const SKIPPED_EVENT_TYPE = 'wikistream-skipped-oversized-event';

/** Bytes kept from the start of each event, to read its `id:` line if it has to be dropped. */
const HEAD_BYTES = 4 * 1024;

/** A blank line ends an event, whichever of LF, CRLF or CR the server uses. */
const BOUNDARIES = ['\n\n', '\n\r\n', '\r\r'].map((b) => Buffer.from(b));
const LF = 0x0a;
const CR = 0x0d;

/** An event the guard took out of the stream: its first bytes, and its `id:` if they hold one. */
export interface OversizedEvent {
  readonly headText: string;
  readonly id: string | undefined;
  /** Bytes of it seen on the wire. */
  readonly bytes: number;
}

/** What of one chunk goes to the parser, in order, and whether an event grew past all bounds. */
export interface TakenChunk {
  readonly pass: Buffer[];
  /** An event past SKIP_FACTOR x the limit without end: drop the connection, then reject it. */
  readonly endless?: OversizedEvent;
}

/**
 * Counts the bytes of the event now arriving, chunk by chunk, before the SSE parser buffers
 * them: the parser (eventsource-parser, as eventsource uses it) has no size limit, so an event
 * that never ends would otherwise grow memory without bound. Per connection.
 *
 * An event that grows past the limit is skipped where it is: its further bytes are dropped until
 * its blank line, what the parser holds of it is closed as an event of type SKIPPED_EVENT_TYPE,
 * and the stream goes on. Skipping in place, not reconnecting, is what gets past an event without
 * a usable `id:` before its data: a reconnect could only resume before it, and the server would
 * send it again.
 */
export class EventSizeGuard {
  /** Bytes of the current, unfinished event accepted so far (what the parser may be holding). */
  private pending = 0;
  private head: Buffer[] = [];
  private headLength = 0;
  /** The last two bytes of the previous chunk: a blank line may straddle two chunks. */
  private tail = Buffer.alloc(0);
  /** The last byte given to the parser (-1: none yet), to close its line before a marker. */
  private lastPassed = -1;
  /** The event being skipped, and its bytes so far. */
  private skipping: { headText: string; id: string | undefined; bytes: number } | undefined;
  /** Skipped events whose marker the parser has not dispatched yet, oldest first. */
  private readonly skipped: OversizedEvent[] = [];

  constructor(readonly limitBytes: number) {}

  /** The bytes of an unfinished event held by the parser: never more than `limitBytes`. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** The skipped event whose marker the parser just dispatched (markers arrive in order). */
  takeSkipped(): OversizedEvent | undefined {
    return this.skipped.shift();
  }

  take(chunk: Uint8Array): TakenChunk {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return this.skipping ? this.skip(bytes) : this.accept(bytes);
  }

  private accept(bytes: Buffer): TakenChunk {
    const end = lastBoundaryEnd(bytes, this.tail);
    const heldBefore = this.pending;
    const pending = end < 0 ? this.pending + bytes.length : bytes.length - end;
    if (end >= 0) {
      this.head = [];
      this.headLength = 0;
    }
    this.keepHead(end < 0 ? bytes : bytes.subarray(end));
    this.tail = lastTwo(bytes);
    if (pending <= this.limitBytes) {
      this.pending = pending;
      this.passed(bytes);
      return { pass: [bytes] };
    }
    // Past the limit: the complete events before it go on; the rest of it is skipped.
    const complete = bytes.subarray(0, Math.max(0, end));
    this.passed(complete);
    this.pending = end < 0 ? heldBefore : 0;
    const headText = Buffer.concat(this.head).toString('utf8');
    this.skipping = { headText, id: idIn(headText), bytes: pending };
    return this.overBound({ pass: complete.length > 0 ? [complete] : [] });
  }

  private skip(bytes: Buffer): TakenChunk {
    const skipping = this.skipping as NonNullable<EventSizeGuard['skipping']>;
    const end = firstBoundaryEnd(bytes, this.tail);
    if (end < 0) {
      skipping.bytes += bytes.length;
      this.tail = lastTwo(bytes);
      return this.overBound({ pass: [] });
    }
    // It ended: close what the parser holds of it as a marker event, then go on with the rest.
    this.skipping = undefined;
    this.skipped.push({ headText: skipping.headText, id: skipping.id, bytes: skipping.bytes + end });
    const atLineStart = this.lastPassed === -1 || this.lastPassed === LF || this.lastPassed === CR;
    const marker = Buffer.from(`${atLineStart ? '' : '\n'}event: ${SKIPPED_EVENT_TYPE}\ndata: -\n\n`);
    this.pending = 0;
    this.head = [];
    this.headLength = 0;
    this.tail = Buffer.alloc(0);
    this.lastPassed = LF;
    const rest = this.take(bytes.subarray(end));
    return { pass: [marker, ...rest.pass], ...(rest.endless ? { endless: rest.endless } : {}) };
  }

  /** Past SKIP_FACTOR x the limit the event is given up on: the caller drops the connection. */
  private overBound(taken: TakenChunk): TakenChunk {
    const skipping = this.skipping;
    if (!skipping || skipping.bytes <= SKIP_FACTOR * this.limitBytes) return taken;
    return { ...taken, endless: { headText: skipping.headText, id: skipping.id, bytes: skipping.bytes } };
  }

  private passed(bytes: Buffer): void {
    if (bytes.length > 0) this.lastPassed = bytes[bytes.length - 1] as number;
  }

  private keepHead(bytes: Buffer): void {
    if (this.headLength >= HEAD_BYTES || bytes.length === 0) return;
    const kept = Buffer.from(bytes.subarray(0, HEAD_BYTES - this.headLength));
    this.head.push(kept);
    this.headLength += kept.length;
  }
}

/** A copy of the last two bytes: a blank line may begin there and end in the next chunk. */
function lastTwo(bytes: Buffer): Buffer<ArrayBuffer> {
  return Buffer.from(bytes.subarray(Math.max(0, bytes.length - 2)));
}

/** The `id:` field among an event's first lines, when it came before its data (EventStreams does so). */
function idIn(headText: string): string | undefined {
  let id: string | undefined;
  for (const line of headText.split(/\r\n|\r|\n/)) {
    if (line === 'id') id = '';
    else if (line.startsWith('id:')) id = line.slice(line.startsWith('id: ') ? 4 : 3);
  }
  return id;
}

/** Index just after the last blank line in `bytes` (also one that began in `before`), or -1. */
function lastBoundaryEnd(bytes: Buffer, before: Buffer): number {
  let end = -1;
  for (const boundary of BOUNDARIES) {
    const at = bytes.lastIndexOf(boundary);
    if (at >= 0) end = Math.max(end, at + boundary.length);
  }
  if (end < 0 && before.length > 0) {
    const joint = Buffer.concat([before, bytes.subarray(0, 2)]);
    for (const boundary of BOUNDARIES) {
      const at = joint.lastIndexOf(boundary);
      if (at >= 0) end = Math.max(end, at + boundary.length - before.length);
    }
  }
  return end;
}

/** Index just after the first blank line in `bytes` (also one that began in `before`), or -1. */
function firstBoundaryEnd(bytes: Buffer, before: Buffer): number {
  const joint = Buffer.concat([before, bytes.subarray(0, 2)]);
  let end = -1;
  for (const boundary of BOUNDARIES) {
    const at = joint.indexOf(boundary);
    // Only a blank line that reaches into this chunk (one wholly in `before` was seen already).
    if (at >= 0 && at + boundary.length > before.length) {
      const e = at + boundary.length - before.length;
      end = end < 0 ? e : Math.min(end, e);
    }
  }
  if (end >= 0) return end;
  for (const boundary of BOUNDARIES) {
    const at = bytes.indexOf(boundary);
    if (at >= 0) end = end < 0 ? at + boundary.length : Math.min(end, at + boundary.length);
  }
  return end;
}
