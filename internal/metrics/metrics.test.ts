import { describe, expect, it } from 'vitest';
import { noSourceCounters, type SourceCounters } from '../wikimedia/sse-source.js';
import { createMetrics } from './metrics.js';
import { createMetricsApp } from './metrics-app.js';
import { Scrape } from './testing/scrape.js';

function fakeSource(): { counters: SourceCounters } {
  return { counters: noSourceCounters() };
}

describe('createMetrics', () => {
  it('gives each instance its own registry, with names that follow Prometheus conventions', async () => {
    const a = createMetrics();
    const b = createMetrics(); // would throw "already registered" on a shared registry
    a.bindSource(fakeSource());
    a.eventsProduced.inc(3);
    const scrape = new Scrape(await a.registry.metrics());
    expect(scrape.value('wikistream_events_produced_total')).toBe(3);
    expect(new Scrape(await b.registry.metrics()).value('wikistream_events_produced_total')).toBe(0);

    const ours = [...scrape.families.values()].filter((f) => f.name.startsWith('wikistream_'));
    expect(ours.map((f) => `${f.name} ${f.type.toLowerCase()}`).sort()).toEqual([
      'wikistream_batch_size_events histogram',
      'wikistream_consumer_lag_records gauge',
      'wikistream_duplicates_dropped_total counter',
      'wikistream_events_consumed_total counter',
      'wikistream_events_dead_lettered_total counter',
      'wikistream_events_produced_total counter',
      'wikistream_events_received_total counter',
      'wikistream_events_rejected_total counter',
      'wikistream_log_replaced_total counter',
      'wikistream_offset_commit_duration_seconds histogram',
      'wikistream_producer_in_flight_events gauge',
      'wikistream_producer_pauses_total counter',
      'wikistream_records_lost_total counter',
      'wikistream_source_canaries_total counter',
      'wikistream_source_last_activity_age_seconds gauge',
      'wikistream_source_last_event_age_seconds gauge',
      'wikistream_sse_connects_total counter',
      'wikistream_sse_ids_ignored_total counter',
      'wikistream_sse_oversized_drops_total counter',
      'wikistream_sse_reconnects_total counter',
      'wikistream_store_write_duration_seconds histogram',
    ]);
    for (const family of ours) {
      expect(family.help, family.name).not.toBe('');
      if (family.type === 'COUNTER') expect(family.name).toMatch(/_total$/);
      else expect(family.name).not.toMatch(/_total$/);
      if (family.type === 'HISTOGRAM') expect(family.name).toMatch(/_(seconds|events)$/);
    }
    // Default process metrics come along.
    // Present, not necessarily > 0: prom-client counts CPU since the metric was registered, and
    // Linux accounts it in ticks, so a scrape right after creation can read 0 (seen under load).
    expect(scrape.value('process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(scrape.families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('pre-sets the known reject reasons to 0, so rates exist before the first rejection', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.eventsRejected.inc({ reason: 'schema' }, 2);
    const scrape = new Scrape(await metrics.registry.metrics());
    expect(scrape.value('wikistream_events_rejected_total', { reason: 'schema' })).toBe(2);
    expect(scrape.value('wikistream_events_rejected_total', { reason: 'invalid_json' })).toBe(0);
    expect(scrape.value('wikistream_events_dead_lettered_total', { reason: 'too_large' })).toBe(0);
  });

  it("reads a bound source's counters at scrape time", async () => {
    let now = 1_000_000;
    const metrics = createMetrics({ defaultMetrics: false, now: () => now });
    const before = new Scrape(await metrics.registry.metrics());
    // No source bound (a consumer): no source metrics at all, rather than a misleading 0 age.
    expect(before.families.has('wikistream_source_last_event_age_seconds')).toBe(false);

    const source = fakeSource();
    metrics.bindSource(source);
    source.counters.connects = 1;
    source.counters.lastActivityAt = now;
    now += 4_000;
    let scrape = new Scrape(await metrics.registry.metrics());
    expect(scrape.value('wikistream_events_received_total')).toBe(0);
    expect(scrape.value('wikistream_sse_connects_total')).toBe(1);
    expect(scrape.value('wikistream_sse_reconnects_total')).toBe(0);
    // Nothing received yet: the age counts from binding, so a silent source still alarms.
    expect(scrape.value('wikistream_source_last_event_age_seconds')).toBe(4);
    expect(scrape.value('wikistream_source_last_activity_age_seconds')).toBe(4);

    source.counters.received = 42;
    source.counters.canaries = 2;
    source.counters.connects = 3;
    source.counters.lastEventAt = now - 1_500;
    source.counters.lastActivityAt = now - 500;
    scrape = new Scrape(await metrics.registry.metrics());
    expect(scrape.value('wikistream_events_received_total')).toBe(42);
    expect(scrape.value('wikistream_source_canaries_total')).toBe(2);
    expect(scrape.value('wikistream_sse_connects_total')).toBe(3);
    expect(scrape.value('wikistream_sse_reconnects_total')).toBe(2);
    expect(scrape.value('wikistream_source_last_event_age_seconds')).toBe(1.5);
    expect(scrape.value('wikistream_source_last_activity_age_seconds')).toBe(0.5);

    // A replacement source adds to the counters instead of resetting them.
    const next = fakeSource();
    metrics.bindSource(next);
    next.counters.received = 8;
    next.counters.connects = 1;
    scrape = new Scrape(await metrics.registry.metrics());
    expect(scrape.value('wikistream_events_received_total')).toBe(50);
    expect(scrape.value('wikistream_sse_connects_total')).toBe(4);
  });

  it('records histograms and per-partition lag', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (const size of [1, 40, 40, 700]) metrics.batchSize.observe(size);
    metrics.commitSeconds.observe(0.003);
    metrics.consumerLag.set({ topic: 'wikipedia.changes', partition: '0' }, 12);
    metrics.consumerLag.set({ topic: 'wikipedia.changes', partition: '1' }, 0);
    const scrape = new Scrape(await metrics.registry.metrics());
    const batches = scrape.sample('wikistream_batch_size_events');
    expect(batches.count).toBe('4');
    expect(Number(batches.sum)).toBe(781);
    expect(batches.buckets?.['50']).toBe('3');
    expect(batches.buckets?.['+Inf']).toBe('4');
    expect(scrape.sample('wikistream_offset_commit_duration_seconds').buckets?.['0.005']).toBe('1');
    expect(scrape.value('wikistream_consumer_lag_records', { partition: '0' })).toBe(12);
    expect(scrape.value('wikistream_consumer_lag_records', { partition: '1' })).toBe(0);
  });
});

describe('createMetricsApp', () => {
  it('serves /metrics, /healthz and /readyz for the producer', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let ready: boolean | Error = false;
    const app = createMetricsApp(metrics.registry, async () => {
      if (ready instanceof Error) throw ready;
      return ready;
    });
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(new Scrape(await response.text()).families.has('wikistream_events_produced_total')).toBe(true);
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.request('/readyz')).status).toBe(503);
    ready = true;
    expect(await (await app.request('/readyz')).json()).toEqual({ ready: true });
    ready = new Error('broker down');
    expect((await app.request('/readyz')).status).toBe(503);
    expect((await app.request('/stats')).status).toBe(404);
  });
});
