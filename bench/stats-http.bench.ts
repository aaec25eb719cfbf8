// GET /stats (default limit 100) with 1,000,000 distinct users and 1,000 domains in the store, at
// 200 concurrent connections on loopback (autocannon), against the target p99 < 10 ms; plus the
// server process's memory at that size. Two servers: the memory store, and the in-process view the
// Cassandra store serves /stats from (FollowedView, loaded from per-partition rows). On the memory
// store, in the same run, the drill-downs of issue 12: /stats?domain=, /stats/users/{name} and
// /stats/pages (24 hours of window buckets at 50 events/s in the store).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fmt, REPO_ROOT, startChild, stopChild } from './support.js';

/** Same shape as run.ts's BenchResult (not imported: run.ts runs on import). */
interface BenchResult {
  readonly title: string;
  readonly markdown: string;
}

const CONNECTIONS = 200;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const TARGET_P99_MS = 10;

interface Autocannon {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

function autocannon(url: string, seconds: number): Promise<Autocannon> {
  return new Promise((resolve, reject) => {
    const bin = join(REPO_ROOT, 'node_modules', 'autocannon', 'autocannon.js');
    const child = spawn(
      process.execPath,
      [bin, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`autocannon exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Autocannon);
    });
  });
}

/** The routes measured on a server; the Cassandra view serves `/stats` only so far. */
function routes(variant: Variant, ready: { topDomain?: string; topUser?: string }): string[] {
  if (variant !== 'memory') return ['/stats'];
  return [
    '/stats',
    `/stats?domain=${encodeURIComponent(ready.topDomain ?? '')}`,
    `/stats/users/${encodeURIComponent(ready.topUser ?? '')}`,
    '/stats/pages',
    '/stats/pages?window=24h',
  ];
}

async function measure(variant: Variant) {
  const { child, match } = await startChild(
    ['--expose-gc', '--max-old-space-size=4096', 'bench/stats-http-server.ts', variant],
    /READY (\{.*\})/,
  );
  const ready = JSON.parse(match[1] as string) as {
    port: number;
    fillMs: number;
    rss: number;
    heapUsed: number;
    topDomain?: string;
    topUser?: string;
  };
  let peakRss = ready.rss;
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const m of String(chunk).matchAll(/MEM (\{.*\})/g)) {
      peakRss = Math.max(peakRss, (JSON.parse(m[1] as string) as { rss: number }).rss);
    }
  });
  try {
    const runs: Array<{ path: string; firstMs: number; run: Autocannon }> = [];
    for (const path of routes(variant, ready)) {
      const url = `http://127.0.0.1:${ready.port}${path}`;
      // The first read computes the view (later ones are served from it until the counts change).
      const started = performance.now();
      const first = await fetch(url);
      if (!first.ok) throw new Error(`${path} answered ${first.status}`);
      await first.arrayBuffer();
      const firstMs = performance.now() - started;
      await autocannon(url, 3); // warm-up: JIT, connections
      const run = await autocannon(url, DURATION_S);
      if (run.errors + run.timeouts + run.non2xx > 0) {
        throw new Error(
          `${path}: ${run.errors} errors, ${run.timeouts} timeouts, ${run.non2xx} non-2xx responses`,
        );
      }
      runs.push({ path, firstMs, run });
    }
    return { ready, runs, peakRss };
  } finally {
    await stopChild(child);
  }
}

const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;

type Variant = 'floor' | 'memory' | 'cassandra-view';
const LABELS: Record<Variant, string> = {
  floor: 'baseline: node:http, fixed body, no store',
  memory: 'memory store',
  'cassandra-view': 'Cassandra store view',
};

export default async function bench(): Promise<BenchResult> {
  const rows: string[] = [];
  for (const variant of ['floor', 'memory', 'cassandra-view'] as const) {
    const { ready, runs, peakRss } = await measure(variant);
    runs.forEach(({ path, firstMs, run }, i) => {
      const verdict = run.latency.p99 < TARGET_P99_MS ? 'met' : 'missed';
      const memory =
        variant === 'floor' || i > 0
          ? '| - | - | - |'
          : `| ${mib(ready.rss)} | ${mib(peakRss)} | ${mib(ready.heapUsed)} |`;
      const first = variant === 'floor' ? '-' : fmt(firstMs);
      rows.push(
        `| ${LABELS[variant]} | \`${path.replace(/=[^&]+/g, '=…').replace(/users\/.+/, 'users/{top user}')}\` | ${first} | ${run.latency.p50} | ${run.latency.p99} | ${fmt(run.requests.average)} ${memory} ${verdict} |`,
      );
    });
  }
  const markdown = [
    `\`GET /stats\` (default limit 100) served by the real HTTP app (hono on @hono/node-server) from a store`,
    `holding ${fmt(1_000_000)} distinct users, ${fmt(1_000)} domains and, for the memory store, every count`,
    'kind of issue 12 per user (wiki, type, bytes, first/last seen, bot) plus 24 hours of window buckets at',
    `50 events/s (${fmt(24 * 60 * 3_000)} synthetic events, pages drawn from 5,000,000 titles; the Cassandra view: 60`,
    'minutes of buckets, /stats only) (synthetic, heavy-tailed counts; bench/stats-http-server.ts), in its',
    `own process. Load: autocannon, ${CONNECTIONS} connections, no pipelining, ${DURATION_S} s after a 3 s warm-up, on`,
    'loopback, both processes on this 2-core machine (shared with other work). "first read" is one request',
    'before the load: it computes the view, which later requests reuse until the counts change. The',
    '`?domain=` and `/stats/users/` rows ask for the biggest wiki and the most active user. "Cassandra',
    'store view" is the in-process view the Cassandra store answers /stats from, loaded from 6 partitions\'',
    'rows: Cassandra itself is not involved in a read. Memory (once per server): RSS after filling and a',
    'GC, the peak RSS under load, and the V8 heap after filling. The baseline row is the same load against',
    'node:http answering a fixed body of the same size: the most this machine allows at that moment.',
    '',
    `| server | route | first read ms | p50 ms | p99 ms | req/s | RSS filled | RSS peak | heap | p99 < ${TARGET_P99_MS} ms |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
  return { title: 'GET /stats with 1M users (HTTP, 200 concurrent)', markdown };
}
