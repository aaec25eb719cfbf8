import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { WikistreamError } from '../errors.js';

/** OS errors that mean "DATA_DIR cannot hold our files", as opposed to a passing I/O fault. */
const UNUSABLE_DIR_CODES = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR']);

/**
 * A JSON checkpoint written atomically: temp file, fsync, rename over the old one, fsync the
 * directory. A crash (even SIGKILL or power loss) leaves either the old or the new checkpoint,
 * never half of one. Read back through a schema: a checkpoint is input like any other.
 */
export class CheckpointFile<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

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

  /** Writes are serialised: a slow write never races a newer one into the rename. */
  write(value: T): Promise<void> {
    const text = JSON.stringify(value);
    this.writing = this.writing.catch(() => {}).then(() => this.writeNow(text));
    return this.writing;
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
