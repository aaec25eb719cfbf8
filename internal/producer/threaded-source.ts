import type { Worker } from 'node:worker_threads';
import { startWorker } from '../lifecycle/start-worker.js';
import type { Logger } from '../log/logger.js';
import { noSourceCounters, type SourceCounters, type SourceOptions } from '../wikimedia/sse-source.js';
import type { ProducerSource, ProducerSourceHandlers } from './producer-source.js';
import type { FromSourceThread, SourceThreadData, ToSourceThread } from './source-thread-protocol.js';

/**
 * The Wikimedia stream read and validated on a thread of its own (`source-thread.ts`); events
 * reach the handlers here, in order. On one thread the SSE parsing and kafkajs's encoding take
 * turns; split, the stream is read while a batch is encoded (BENCHMARKS.md, issue 11).
 *
 * The bound on unacknowledged events holds across the threads: the source thread hands over at
 * most PRODUCER_MAX_IN_FLIGHT more than `released` has given back, and closes its connection the
 * moment it reaches that (see source-thread.ts). `pause` and `resume` are the producer's
 * back-pressure on top of it.
 */
export class ThreadedSource implements ProducerSource {
  counters: SourceCounters = noSourceCounters();
  private paused = false;
  private thread: Worker | undefined;
  private stopping = false;
  private stopped: Promise<void> = Promise.resolve();
  private markStopped: () => void = () => {};

  constructor(
    private readonly options: SourceOptions,
    private readonly handlers: ProducerSourceHandlers,
    private readonly log: Logger,
    private readonly logOptions: SourceThreadData['log'],
    /** PRODUCER_MAX_IN_FLIGHT: the thread never hands over more unacknowledged events than this. */
    private readonly maxInFlight: number,
    /** The thread died: nothing more will be read, the process must exit to be restarted. */
    private readonly onFatal: (err: Error) => void,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  start(): void {
    const data: SourceThreadData = { options: this.options, log: this.logOptions };
    const thread = startWorker(import.meta.url, 'source-thread', { workerData: data });
    this.thread = thread;
    this.stopped = new Promise((resolve) => {
      this.markStopped = resolve;
    });
    thread.on('message', (message: FromSourceThread) => this.onMessage(message));
    thread.on('error', (err) => {
      this.log.error({ err }, 'source thread failed');
      if (!this.stopping) this.onFatal(err);
    });
    thread.on('exit', (code) => {
      this.markStopped();
      if (!this.stopping) this.onFatal(new Error(`the source thread exited (code ${code})`));
    });
    this.post({ type: 'start', cursor: this.handlers.cursor(), credit: this.maxInFlight });
  }

  pause(): void {
    this.paused = true;
    this.post({ type: 'pause' });
  }

  resume(): void {
    this.paused = false;
    this.post({ type: 'resume' });
  }

  released(count: number): void {
    if (count > 0) this.post({ type: 'credit', count });
  }

  async stop(): Promise<void> {
    if (!this.thread || this.stopping) return this.stopped;
    this.stopping = true;
    this.post({ type: 'stop' });
    return this.stopped;
  }

  private post(message: ToSourceThread): void {
    this.thread?.postMessage(message);
  }

  private onMessage(message: FromSourceThread): void {
    this.counters = message.counters;
    if (message.type === 'stopped') {
      this.markStopped();
      return;
    }
    if (message.type !== 'events') return;
    const bytes = Buffer.from(message.bytes);
    let start = 0;
    let next = 0;
    for (const item of message.events) {
      if (item[0] === 'invalid') {
        this.handlers.onInvalid(item[1], item[2], item[3]);
        continue;
      }
      const idEnd = message.ends[next++] as number;
      const rawEnd = message.ends[next++] as number;
      this.handlers.onEvent(bytes.subarray(start, idEnd), bytes.subarray(idEnd, rawEnd), item[1]);
      start = rawEnd;
    }
  }
}
