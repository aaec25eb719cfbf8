import { dirname } from 'node:path';
import type { z } from 'zod';
import type { Logger } from '../log/logger.js';
import { CheckpointFile, ensureWritableDir } from './checkpoint-file.js';

/** Read by `/metrics` (see `Metrics.bindCheckpoint`); never reset. */
export interface CheckpointCounters {
  writes: number;
  writeFailures: number;
}

/**
 * Writes `snapshot()` to a checkpoint file every `intervalMs` when something changed
 * (`markDirty()`), and once more on `stop()`. The snapshot is taken synchronously, so whatever
 * it gathers (counts, positions, cursor) belongs to one instant.
 */
export class PeriodicCheckpoint<T> {
  readonly counters: CheckpointCounters = { writes: 0, writeFailures: 0 };
  private readonly file: CheckpointFile<T>;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private lastWriteFailed = false;

  constructor(
    path: string,
    private readonly snapshot: () => T,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.file = new CheckpointFile(path);
  }

  get path(): string {
    return this.file.path;
  }

  /**
   * False while the last write failed (DATA_DIR gone, read-only, full): the process then holds
   * state it cannot make durable, so readiness reports it.
   */
  get writable(): boolean {
    return !this.lastWriteFailed;
  }

  /**
   * Checks that the directory takes files (a one-line DATA_DIR error otherwise), then reads the
   * last checkpoint through `schema` (a one-line CHECKPOINT_CORRUPT when it does not match).
   */
  async read(schema: z.ZodType<T>): Promise<T | undefined> {
    await ensureWritableDir(dirname(this.file.path));
    return this.file.read(schema);
  }

  start(): void {
    this.timer = setInterval(() => void this.save(), this.intervalMs);
    this.timer.unref();
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Final write; rejects if it fails, so shutdown reports it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.dirty = false;
    await this.file.write(this.snapshot());
  }

  private async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await this.file.write(this.snapshot());
      this.counters.writes++;
      if (this.lastWriteFailed) this.log.info({ path: this.file.path }, 'checkpoint writes work again');
      this.lastWriteFailed = false;
    } catch (err) {
      this.dirty = true;
      this.counters.writeFailures++;
      // Logged once per outage, not every interval: the metric and /readyz carry it meanwhile.
      if (!this.lastWriteFailed) {
        this.log.error(
          { err, path: this.file.path },
          'checkpoint write failed; not ready until a retry succeeds',
        );
      }
      this.lastWriteFailed = true;
    }
  }
}
