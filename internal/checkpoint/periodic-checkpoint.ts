import type { z } from 'zod';
import type { Logger } from '../log/logger.js';
import { type CheckpointCounters, CheckpointFile } from './checkpoint-file.js';

/**
 * Writes `snapshot()` to a checkpoint file every `intervalMs` when something changed
 * (`markDirty()`), and once more on `stop()`. The snapshot is taken synchronously, so whatever
 * it gathers (counts, positions, cursor) belongs to one instant. Failed writes are counted and
 * logged by the file (see CheckpointFile.write) and retried at the next interval.
 */
export class PeriodicCheckpoint<T> {
  private readonly file: CheckpointFile<T>;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(
    path: string,
    private readonly snapshot: () => T,
    private readonly intervalMs: number,
    log: Logger,
  ) {
    this.file = new CheckpointFile(path, log);
  }

  get path(): string {
    return this.file.path;
  }

  get counters(): Readonly<CheckpointCounters> {
    return this.file.counters;
  }

  /** False while the last write failed: readiness reports it (see CheckpointFile.writable). */
  get writable(): boolean {
    return this.file.writable;
  }

  /** The last checkpoint, after checking DATA_DIR takes files (see CheckpointFile.readAtStartup). */
  read(schema: z.ZodType<T>): Promise<T | undefined> {
    return this.file.readAtStartup(schema);
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
    await this.file.write(this.snapshot()).catch(() => {
      this.dirty = true; // counted and logged by the file; retried at the next interval
    });
  }
}
