import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The shared recorded events; CI clones the repo with `shared/` beside it. */
export const SHARED_EVENTS_DIR = fileURLToPath(
  new URL('../../../shared/data/recentchange/', import.meta.url),
);
