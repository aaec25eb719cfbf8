import type { Socket } from 'node:net';

/** Largest request accepted; Kafka's `socket.request.max.bytes` default is 100 MiB. */
const MAX_FRAME_SIZE = 100 * 1024 * 1024;

/**
 * Handles one request frame (without the size prefix). Resolves to the response frame (without the
 * size prefix) or null for "no response" (acks=0 Produce). Rejects or throws to close the connection.
 */
export type FrameHandler = (frame: Buffer, signal: AbortSignal) => Promise<Buffer[] | null>;

/**
 * One client TCP connection: splits the byte stream into size-prefixed frames (notes §2) and runs
 * them one at a time, answering in order. Kafka does the same (it mutes a connection until the
 * response is sent), so a parked JoinGroup or long-polled Fetch holds back later requests on that
 * connection only; kafkajs sends fetches on their own connection for that reason.
 */
export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly pending: Buffer[] = [];
  private running = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly socket: Socket,
    private readonly handle: FrameHandler,
    private readonly onError: (error: unknown) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A client that vanishes (SIGKILL) just closes the socket; its group membership is left to the
    // session timer (notes §10).
    socket.on('error', () => {});
    socket.on('close', () => this.abort.abort());
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  /** Destroys the socket at once; parked requests are aborted and their responses dropped. */
  destroy(): void {
    this.abort.abort();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Chunks are concatenated only once a whole frame is there, so large requests cost O(size).
    while (this.buffered >= 4) {
      const head = this.chunks[0] as Buffer;
      const sizeBytes = head.length >= 4 ? head : Buffer.concat(this.chunks, 4);
      const size = sizeBytes.readInt32BE(0);
      if (size < 0 || size > MAX_FRAME_SIZE) {
        this.onError(new Error(`invalid frame size ${size}`));
        this.destroy();
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks, this.buffered);
      this.pending.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let frame = this.pending.shift(); frame && !this.closed; frame = this.pending.shift()) {
        const response = await this.handle(frame, this.abort.signal);
        if (response === null || this.closed) continue;
        let length = 0;
        for (const chunk of response) length += chunk.length;
        const size = Buffer.allocUnsafe(4);
        size.writeInt32BE(length, 0);
        this.socket.write(Buffer.concat([size, ...response], 4 + length));
      }
    } catch (error) {
      this.onError(error);
      this.destroy();
    } finally {
      this.running = false;
    }
  }
}
