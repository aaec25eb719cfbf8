import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Scrape } from '../../internal/metrics/testing/scrape.js';
import { readRecordedEvents } from '../../internal/replay/recorded-events.js';
import { buildDashboard, getJson, RECORDED_DIR, startPipeline, waitFor } from './harness.js';

describe('/metrics of the embedded pipeline fed by the replay server', () => {
  it.skipIf(!existsSync(RECORDED_DIR))('counts exactly the events sent, by outcome', async () => {
    const recorded = readRecordedEvents([RECORDED_DIR]).slice(0, 400);
    const canary = JSON.parse(recorded[0] as string) as { meta: { domain: string; id: string } };
    canary.meta.domain = 'canary';
    canary.meta.id = 'canary-0001';
    const bad = {
      invalid_json: ['{"meta": {"id": "cut-off'],
      schema: ['{"meta":{"id":"no-dt-or-domain"}}', '{"meta":{"id":"x","dt":"yesterday","domain":"a.org"}}'],
      too_large: [JSON.stringify({ meta: { id: 'big' }, pad: 'x'.repeat(600 * 1024) })],
    };
    // Bad records spread through the stream, not bunched at one end.
    const events = [...recorded];
    events.splice(50, 0, ...bad.invalid_json);
    events.splice(150, 0, ...bad.schema);
    events.splice(250, 0, JSON.stringify(canary), ...bad.too_large);
    const valid = recorded.length;

    const { baseUrl, replay, pipeline } = await startPipeline(
      { events, ratePerSec: 0, heartbeatMs: 200 },
      // Two refused connections first: the source reconnects, and no event is sent twice.
      { webRoot: buildDashboard(), beforeStart: (r) => r.failNext(2) },
    );

    await waitFor('every event applied', async () => {
      const stats = await getJson<{ total: number; rejected: number }>(`${baseUrl}/stats`);
      return stats.total === valid && pipeline.source.counters.received === events.length ? stats : undefined;
    });
    const stats = await getJson<{ total: number; rejected: number }>(`${baseUrl}/stats`);
    const response = await fetch(`${baseUrl}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const scrape = new Scrape(await response.text());

    expect(scrape.value('wikistream_events_received_total')).toBe(events.length);
    expect(scrape.value('wikistream_source_canaries_total')).toBe(1);
    for (const [reason, lines] of Object.entries(bad)) {
      expect(scrape.value('wikistream_events_rejected_total', { reason }), reason).toBe(lines.length);
    }
    const rejected = Object.values(bad).flat().length;
    expect(stats.rejected).toBe(rejected);
    // Everything but the canary reaches the stats stage; valid ones are counted once each.
    expect(scrape.value('wikistream_events_consumed_total')).toBe(events.length - 1);
    expect(scrape.value('wikistream_duplicates_dropped_total')).toBe(0);
    expect(stats.total).toBe(valid);

    const connections = replay.connections.length;
    expect(replay.connections.filter((c) => c.status === 503)).toHaveLength(2);
    expect(scrape.value('wikistream_sse_connects_total')).toBe(connections);
    expect(scrape.value('wikistream_sse_reconnects_total')).toBe(connections - 1);

    const batches = scrape.sample('wikistream_batch_size_events');
    expect(Number(batches.sum)).toBe(events.length - 1);
    expect(Number(batches.count)).toBeGreaterThan(0);
    const writes = scrape.sample('wikistream_store_write_duration_seconds');
    expect(writes.count).toBe(batches.count);
    expect(Number(writes.buckets?.['+Inf'])).toBe(Number(batches.count));

    const age = scrape.value('wikistream_source_last_event_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(30);
    expect(scrape.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
