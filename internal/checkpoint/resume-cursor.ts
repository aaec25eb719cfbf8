import type { Logger } from '../log/logger.js';
import { describeUnusableCursor, isUsableCursor } from '../wikimedia/sse-cursor.js';

/**
 * The saved SSE cursor to resume after, or undefined to start live. A cursor an older version
 * persisted that cannot be sent back (empty, non-ASCII...) is ignored with a warning rather than
 * failing every request.
 */
export function savedResumeCursor(
  saved: string | null | undefined,
  path: string,
  log: Logger,
): string | undefined {
  if (saved === null || saved === undefined) return undefined;
  if (isUsableCursor(saved)) return saved;
  log.warn(
    { path, problem: describeUnusableCursor(saved) },
    'saved cursor cannot be sent as Last-Event-ID; ignored: the stream starts live',
  );
  return undefined;
}
