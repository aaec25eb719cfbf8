/**
 * Counts computed independently of the pipeline, straight from NDJSON lines: canaries excluded,
 * duplicates (same meta.id) counted once, lines that fail to parse skipped.
 */
export interface ExpectedCounts {
  total: number;
  byDomain: Record<string, number>;
  byUser: Record<string, number>;
  byType: Record<string, number>;
  bots: { bot: number; human: number };
}

export function expectedCounts(lines: readonly string[]): ExpectedCounts {
  const seen = new Set<string>();
  const out: ExpectedCounts = { total: 0, byDomain: {}, byUser: {}, byType: {}, bots: { bot: 0, human: 0 } };
  for (const line of lines) {
    let event: { meta: { id: string; domain: string }; user?: string; type?: string; bot?: boolean };
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (event.meta.domain === 'canary' || seen.has(event.meta.id)) continue;
    seen.add(event.meta.id);
    out.total++;
    out.byDomain[event.meta.domain] = (out.byDomain[event.meta.domain] ?? 0) + 1;
    if (event.user !== undefined) out.byUser[event.user] = (out.byUser[event.user] ?? 0) + 1;
    const type = event.type ?? 'unknown';
    out.byType[type] = (out.byType[type] ?? 0) + 1;
    if (event.bot === true) out.bots.bot++;
    else out.bots.human++;
  }
  return out;
}

/** Real events made into canaries and duplicates, as the live stream has them (SOURCES.md: the recordings have none). */
export function withCanariesAndDuplicates(lines: readonly string[]): string[] {
  const out: string[] = [];
  lines.forEach((line, i) => {
    out.push(line);
    if (i % 97 === 5) {
      const canary = JSON.parse(line);
      canary.meta.domain = 'canary';
      canary.meta.id = `canary-${i}`;
      out.push(JSON.stringify(canary));
    }
    // A duplicate a little later, as a resumed stream or a producer retry delivers it.
    if (i % 151 === 7) out.splice(Math.max(0, out.length - 3), 0, line);
  });
  return out;
}
