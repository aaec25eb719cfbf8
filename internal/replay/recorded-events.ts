import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reads recorded events: NDJSON files, or every `*.ndjson` in a directory (sorted by name).
 * Each non-empty line is one SSE `data:` payload, kept exactly as recorded.
 */
export function readRecordedEvents(paths: readonly string[]): string[] {
  const files = paths.flatMap((path) =>
    statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((name) => name.endsWith('.ndjson'))
          .sort()
          .map((name) => join(path, name))
      : [path],
  );
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== ''),
  );
}

/**
 * A real event with a fresh `meta.id` (deterministic per round), for replays that loop and
 * benchmarks that need more events than were recorded: same shape, new identity.
 */
export function deriveEvent(line: string, round: number, retimeTo?: Date): string {
  const event = JSON.parse(line) as { meta: { id: string; dt: string } };
  if (round > 0) event.meta.id = derivedId(event.meta.id, round);
  if (retimeTo) event.meta.dt = retimeTo.toISOString();
  return JSON.stringify(event);
}

function derivedId(id: string, round: number): string {
  const hex = createHash('sha1').update(`${id}/${round}`).digest('hex');
  // Shaped as a version-5-like UUID, as meta.id is a UUID.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `count` events: the recorded ones first, then derived copies with fresh ids, round after round. */
export function deriveEvents(recorded: readonly string[], count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const round = Math.floor(i / recorded.length);
    const line = recorded[i % recorded.length] as string;
    out.push(round === 0 ? line : deriveEvent(line, round));
  }
  return out;
}
