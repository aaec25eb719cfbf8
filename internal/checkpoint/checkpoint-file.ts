import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** Read by `/metrics` (see `Metrics.bindCheckpoint`); never reset. */
export interface CheckpointCounters {
  writes: number;
  writeFailures: number;
}

/** OS errors that mean "DATA_DIR cannot hold our files", as opposed to a passing I/O fault. */
const UNUSABLE_DIR_CODES = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR']);

/**
 * A JSON checkpoint written atomically: temp file, fsync, rename over the old one, fsync the
 * directory. A crash (even SIGKILL or power loss) leaves either the old or the new checkpoint,
 * never half of one. Read back through a schema: a checkpoint is input like any other.
 */
export class CheckpointFile<T> {
  readonly counters: CheckpointCounters = { writes: 0, writeFailures: 0 };
  private writing: Promise<void> = Promise.resolve();
  private lastWriteFailed = false;

  /** `log`: failed writes are logged there, once per outage, and the recovery after it. */
  constructor(
    readonly path: string,
    private readonly log?: Logger,
  ) {}

  /**
   * False while the last write failed (DATA_DIR gone, read-only, full): the process then holds
   * state it cannot make durable, so readiness reports it.
   */
  get writable(): boolean {
    return !this.lastWriteFailed;
  }

  /**
   * Checks that the directory takes files (a one-line DATA_DIR error otherwise), then reads the
   * last checkpoint through `schema`: what a process does once, at start-up.
   */
  async readAtStartup(schema: z.ZodType<T>): Promise<T | undefined> {
    await ensureWritableDir(dirname(this.path));
    return this.read(schema);
  }

  /**
   * The last checkpoint, or undefined when there is none yet. Throws a one-line CHECKPOINT_CORRUPT
   * naming the file, what is wrong and what to do when it does not match `schema`: nothing it
   * did not check is ever served.
   */
  async read(schema: z.ZodType<T>): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw dataDirError(dirname(this.path), err);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw corrupt(this.path, 'is not valid JSON', err);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(root)';
      throw corrupt(this.path, `is not a checkpoint this version can use (${where}: ${issue?.message})`);
    }
    return parsed.data;
  }

  /**
   * Writes are serialised: a slow write never races a newer one into the rename. Rejects when the
   * write fails (the caller retries); counted and logged here either way.
   */
  write(value: T): Promise<void> {
    const text = JSON.stringify(value);
    this.writing = this.writing
      .catch(() => {})
      .then(() => this.writeNow(text))
      .then(
        () => this.succeeded(),
        (err: unknown) => this.failed(err),
      );
    return this.writing;
  }

  private succeeded(): void {
    this.counters.writes++;
    if (this.lastWriteFailed) this.log?.info({ path: this.path }, 'checkpoint writes work again');
    this.lastWriteFailed = false;
  }

  private failed(err: unknown): never {
    this.counters.writeFailures++;
    // Logged once per outage, not every retry: the metric and /readyz carry it meanwhile.
    if (!this.lastWriteFailed) {
      this.log?.error({ err, path: this.path }, 'checkpoint write failed; not ready until a retry succeeds');
    }
    this.lastWriteFailed = true;
    throw err;
  }

  private async writeNow(text: string): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.path);
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}

/**
 * Makes sure `dir` (DATA_DIR) exists and takes new files, at start-up: a checkpoint that cannot
 * be written would otherwise be found out only at the first interval, or at shutdown.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    const file = await open(probe, 'w');
    await file.close();
    await unlink(probe);
  } catch (err) {
    throw dataDirError(dir, err);
  }
}

function dataDirError(dir: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined || !UNUSABLE_DIR_CODES.has(code)) return err;
  return new WikistreamError(
    'CONFIG_INVALID',
    `invalid configuration: DATA_DIR ${JSON.stringify(dir)} is not a writable directory (${code}): ` +
      'must be a directory (or a path where one can be created) this process can write files in',
    { cause: err },
  );
}

function corrupt(path: string, problem: string, cause?: unknown): WikistreamError {
  return new WikistreamError(
    'CHECKPOINT_CORRUPT',
    `checkpoint ${path} ${problem}; move it away to start from scratch`,
    cause === undefined ? {} : { cause },
  );
}
