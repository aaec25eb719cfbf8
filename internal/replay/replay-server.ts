import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deriveEvent } from './recorded-events.js';

export interface ReplayOptions {
  /** Recorded `data:` payloads, served in order. */
  readonly events: readonly string[];
  /** Close each connection after this many events (EventStreams cuts every 15 minutes). */
  readonly dropEvery?: number;
  /** Events per second; 0 or undefined sends as fast as the client reads. */
  readonly ratePerSec?: number;
  /** After the last event, go on with the same events under fresh `meta.id`s. */
  readonly loop?: boolean;
  /** Set `meta.dt` to the time of sending (for live-looking demos). */
  readonly retime?: boolean;
  /** A `:` comment line when nothing was sent for this long, as EventStreams keeps connections alive. */
  readonly heartbeatMs?: number;
  readonly topic?: string;
}

interface ConnectionLog {
  readonly lastEventId: string | undefined;
  readonly userAgent: string | undefined;
  readonly status: number;
}

/**
 * An EventStreams look-alike for offline demos and tests: SSE with `id:` lines carrying a JSON
 * cursor (`[{"topic":...,"partition":0,"offset":N}]`), resume after `Last-Event-ID`, and faults on
 * demand: dropped connections, 503 answers, a stalled (silent) connection.
 */
export class ReplayServer {
  readonly connections: ConnectionLog[] = [];
  /** Highest offset sent so far, plus one: how far into the recording the replay got. */
  progress = 0;
  private failuresLeft = 0;
  private stalled = false;
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();
  private readonly topic: string;
  /** Pre-encoded frames of CHUNK events each, for unthrottled replays (benchmarks). */
  private rendered: Buffer[] | undefined;

  constructor(private readonly options: ReplayOptions) {
    this.topic = options.topic ?? 'eqiad.mediawiki.recentchange';
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}/v2/stream/recentchange`;
  }

  /** The next `count` connection attempts get 503 Service Unavailable. */
  failNext(count: number): void {
    this.failuresLeft = count;
  }

  /** While stalled, open connections receive nothing at all (no events, no heartbeats). */
  stall(stalled: boolean): void {
    this.stalled = stalled;
  }

  /** The SSE id of event `offset`, as EventStreams formats it. */
  idOf(offset: number): string {
    return JSON.stringify([{ topic: this.topic, partition: 0, offset }]);
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const lastEventId = header(req, 'last-event-id');
    const userAgent = header(req, 'user-agent');
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      this.connections.push({ lastEventId, userAgent, status: 503 });
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable (replay fault)');
      return;
    }
    this.connections.push({ lastEventId, userAgent, status: 200 });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    res.write(':ok\n\n');
    await this.stream(res, this.resumeOffset(lastEventId));
  }

  private resumeOffset(lastEventId: string | undefined): number {
    if (!lastEventId) return 0;
    try {
      const cursor = JSON.parse(lastEventId) as Array<{ topic?: string; offset?: number }>;
      const mine = cursor.find((c) => c.topic === this.topic && typeof c.offset === 'number');
      return mine?.offset !== undefined ? mine.offset + 1 : 0;
    } catch {
      return 0; // EventStreams ignores an id it cannot read and starts afresh
    }
  }

  private async stream(res: ServerResponse, from: number): Promise<void> {
    const { events, dropEvery = 0, ratePerSec = 0, loop = false, heartbeatMs = 5_000 } = this.options;
    const total = events.length;
    let offset = from;
    let sentHere = 0;
    let lastWrite = Date.now();
    const started = Date.now();
    while (!res.destroyed) {
      const available = loop || offset < total;
      if (this.stalled || !available) {
        if (!this.stalled && Date.now() - lastWrite >= heartbeatMs) {
          res.write(':\n\n');
          lastWrite = Date.now();
        }
        await delay(Math.min(50, heartbeatMs));
        continue;
      }
      if (this.canUseRendered() && offset % CHUNK === 0 && offset < total) {
        const frame = this.renderedChunk(offset / CHUNK);
        offset = Math.min(total, offset + CHUNK);
        this.progress = Math.max(this.progress, offset);
        lastWrite = Date.now();
        if (!res.write(frame)) await drainedOrClosed(res);
        continue;
      }
      // Send in chunks: a write per event would dominate the cost of a fast replay.
      let chunk = '';
      let budget = ratePerSec > 0 ? Math.floor(((Date.now() - started) / 1000) * ratePerSec) - sentHere : 256;
      if (budget <= 0) {
        await delay(Math.max(1, Math.floor(1000 / ratePerSec)));
        continue;
      }
      while (budget-- > 0 && (loop || offset < total)) {
        chunk += `event: message\nid: ${this.idOf(offset)}\ndata: ${this.payload(offset)}\n\n`;
        offset++;
        sentHere++;
        if (dropEvery > 0 && sentHere % dropEvery === 0) break;
        if (chunk.length > 256 * 1024) break;
      }
      lastWrite = Date.now();
      this.progress = Math.max(this.progress, offset);
      if (!res.write(chunk)) await drainedOrClosed(res);
      if (dropEvery > 0 && sentHere > 0 && sentHere % dropEvery === 0) {
        res.destroy(); // an abrupt cut, as a proxy timeout would do it
        return;
      }
    }
  }

  private canUseRendered(): boolean {
    const { dropEvery = 0, ratePerSec = 0, retime = false } = this.options;
    return dropEvery === 0 && ratePerSec === 0 && !retime && !this.stalled;
  }

  private renderedChunk(index: number): Buffer {
    this.rendered ??= [];
    let frame = this.rendered[index];
    if (!frame) {
      let text = '';
      const end = Math.min(this.options.events.length, (index + 1) * CHUNK);
      for (let offset = index * CHUNK; offset < end; offset++) {
        text += `event: message\nid: ${this.idOf(offset)}\ndata: ${this.payload(offset)}\n\n`;
      }
      frame = Buffer.from(text);
      this.rendered[index] = frame;
    }
    return frame;
  }

  private payload(offset: number): string {
    const { events, retime = false } = this.options;
    const round = Math.floor(offset / events.length);
    const line = events[offset % events.length] as string;
    if (round === 0 && !retime) return line;
    return deriveEvent(line, round, retime ? new Date() : undefined);
  }
}

/** Events per pre-encoded frame. */
const CHUNK = 256;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Waits for backpressure to clear, removing both listeners whichever fires. */
export function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
