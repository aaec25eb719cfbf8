import type { Logger } from '../log/logger.js';
import { CheckpointFile } from './checkpoint-file.js';

/**
 * Writes `snapshot()` to a checkpoint file every `intervalMs` when something changed
 * (`markDirty()`), and once more on `stop()`. The snapshot is taken synchronously, so whatever
 * it gathers (counts, positions, cursor) belongs to one instant.
 */
export class PeriodicCheckpoint<T> {
  private readonly file: CheckpointFile<T>;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

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

  read(): Promise<T | undefined> {
    return this.file.read();
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
    } catch (err) {
      this.dirty = true;
      this.log.error({ err, path: this.file.path }, 'checkpoint write failed; will retry');
    }
  }
}
