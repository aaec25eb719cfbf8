import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WikistreamError } from '../errors.js';

/**
 * A JSON checkpoint written atomically: temp file, fsync, rename over the old one, fsync the
 * directory. A crash (even SIGKILL or power loss) leaves either the old or the new checkpoint,
 * never half of one.
 */
export class CheckpointFile<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** The last checkpoint, or undefined when there is none yet. */
  async read(): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new WikistreamError(
        'CHECKPOINT_CORRUPT',
        `checkpoint ${this.path} is not valid JSON; move it away to start from scratch`,
        { cause: err },
      );
    }
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
