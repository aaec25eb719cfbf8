import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SHARED = fileURLToPath(new URL('../../../shared/data/recentchange/', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../deploy/sample/', import.meta.url));

/**
 * The recorded events the tests replay: the shared set (CI here clones the repo with `shared/`
 * beside it), else the committed sample (a prefix of the same recording), e.g. on GitHub Actions.
 */
export const SHARED_EVENTS_DIR = existsSync(SHARED) ? SHARED : SAMPLE;
if (SHARED_EVENTS_DIR === SAMPLE) {
  process.stderr.write(`tests: ${SHARED} not found; using the committed sample ${SAMPLE}\n`);
}

/** One file of the shared recordings (no fallback: tests using it skip visibly when it is absent). */
export function sharedRecording(name: string): string {
  return `${SHARED}${name}`;
}
