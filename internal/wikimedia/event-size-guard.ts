/**
 * Bytes the wire may carry for one event besides its `data:` payload: the `event:` and `id:`
 * lines, field names, line ends. An event within MAX_EVENT_BYTES is never cut here; one a little
 * over it arrives whole and is rejected by `parseRecentChange` as before.
 */
export const FRAMING_SLACK_BYTES = 16 * 1024;

/** Bytes kept from the start of each event, to read its `id:` line if it has to be dropped. */
const HEAD_BYTES = 4 * 1024;

/** A blank line ends an event, whichever of LF, CRLF or CR the server uses. */
const BOUNDARIES = ['\n\n', '\n\r\n', '\r\r'].map((b) => Buffer.from(b));

/**
 * Counts the bytes of the event now arriving, chunk by chunk, before the SSE parser buffers
 * them: the parser (eventsource-parser, as eventsource uses it) has no size limit, so an event
 * that never ends would otherwise grow memory without bound. Per connection.
 */
export class EventSizeGuard {
  /** Bytes of the current, unfinished event accepted so far (what the parser may be holding). */
  private pending = 0;
  private head: Buffer[] = [];
  private headLength = 0;
  /** The last two bytes of the previous chunk: a blank line may straddle two chunks. */
  private tail = Buffer.alloc(0);

  /** Once `accept` said no: how many bytes at the start of that chunk ended earlier events (pass them on). */
  completeBytes = 0;

  constructor(readonly limitBytes: number) {}

  /** The bytes of an unfinished event held by the parser: never more than `limitBytes`. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** False when the chunk would take the current event past the limit; the chunk is then not for the parser. */
  accept(chunk: Uint8Array): boolean {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = lastBoundaryEnd(bytes, this.tail);
    const pending = end < 0 ? this.pending + bytes.length : bytes.length - end;
    if (end >= 0) {
      this.head = [];
      this.headLength = 0;
    }
    this.keepHead(end < 0 ? bytes : bytes.subarray(end));
    if (pending > this.limitBytes) {
      this.completeBytes = Math.max(0, end);
      return false;
    }
    this.pending = pending;
    this.tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 2)));
    return true;
  }

  /** The start of the event that was too large, as text (for the log and the dead letter). */
  headText(): string {
    return Buffer.concat(this.head).toString('utf8');
  }

  /** The `id:` of the event that was too large, when it came before its data (EventStreams does so). */
  eventId(): string | undefined {
    let id: string | undefined;
    for (const line of this.headText().split(/\r\n|\r|\n/)) {
      if (line === 'id') id = '';
      else if (line.startsWith('id:')) id = line.slice(line.startsWith('id: ') ? 4 : 3);
    }
    return id;
  }

  private keepHead(bytes: Buffer): void {
    if (this.headLength >= HEAD_BYTES || bytes.length === 0) return;
    const kept = Buffer.from(bytes.subarray(0, HEAD_BYTES - this.headLength));
    this.head.push(kept);
    this.headLength += kept.length;
  }
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
