import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { metricsHandler } from '../metrics/metrics-app.js';
import { WINDOW_RETENTION_MINUTES } from '../stats/minute-buckets.js';
import type { StatsStore } from '../store/stats-store.js';
import { defaultWebRoot, mountDashboard } from './dashboard-assets.js';
import { renderStatsJson, renderWindowStatsJson } from './stats-json.js';
import { mountStatsStream } from './stats-stream.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;
const CORS_HEADER = { 'access-control-allow-origin': '*' } as const;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...CORS_HEADER } as const;

/**
 * `?window=5m`: the last N minutes of event time, 1m..60m (`1h` = `60m`), ending at the newest
 * event's minute (not the wall clock: recorded and live data read the same way).
 */
const windowParam = z
  .string()
  .optional()
  .transform((value, ctx): number | undefined => {
    if (value === undefined) return undefined;
    const match = /^(\d{1,3})(m|h)$/.exec(value);
    const minutes = match ? Number(match[1]) * (match[2] === 'h' ? 60 : 1) : Number.NaN;
    if (!(minutes >= 1 && minutes <= WINDOW_RETENTION_MINUTES)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be minutes from 1m to ${WINDOW_RETENTION_MINUTES}m (or 1h), e.g. 5m`,
      });
      return z.NEVER;
    }
    return minutes;
  });

/**
 * `?limit=N` (1..MAX_LIMIT) or `?limit=all`, and `?window=Nm`; anything else, or an unknown
 * parameter, is a 400.
 */
const statsQuery = z
  .object({
    limit: z
      .string()
      .optional()
      .transform((value, ctx): number | 'all' => {
        if (value === undefined) return DEFAULT_LIMIT;
        if (value === 'all') return 'all';
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIMIT) {
          ctx.addIssue({
            code: 'custom',
            message: `must be a whole number from 1 to ${MAX_LIMIT}, or "all"`,
          });
          return z.NEVER;
        }
        return n;
      }),
    window: windowParam,
  })
  .strict();

export interface HttpDeps {
  readonly store: StatsStore;
  /** Ready to serve real numbers: connected to what this process depends on (`/readyz`). */
  readonly ready: () => Promise<boolean>;
  readonly log: Logger;
  /** Serves `GET /metrics` from this registry when given (see internal/metrics). */
  readonly metrics?: Registry;
  /** Folder of the built dashboard; default `<repo>/dist/web` (see dashboard-assets.ts). */
  readonly webRoot?: string;
  /** `/stats/stream` clients at most (STREAM_MAX_CLIENTS); default 1,000. */
  readonly streamMaxClients?: number;
}

/**
 * The HTTP surface, shared by the embedded mode and the consumer: the dashboard at `/`, `/stats`,
 * `/healthz`, `/readyz`, and `/metrics` when a registry is given. CORS is open for GET so a
 * dashboard served elsewhere can read `/stats`.
 */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  // CORS: answer preflights here, and put the header on the JSON answers directly. Hono's cors()
  // middleware rewrites every response, which pushes @hono/node-server off its fast path and
  // halved /stats throughput under load (BENCHMARKS.md).
  app.options('*', cors({ origin: '*', allowMethods: ['GET', 'HEAD', 'OPTIONS'] }));

  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, CORS_HEADER));

  app.get('/readyz', async (c) => {
    const ready = await deps.ready().catch(() => false);
    return c.json({ ready }, ready ? 200 : 503, CORS_HEADER);
  });

  app.get('/stats', async (c) => {
    const query = statsQuery.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      const param = issue?.path[0] ?? String(issue && 'keys' in issue ? issue.keys : '');
      return c.json(
        { error: 'bad_request', message: `query parameter ${String(param)}: ${issue?.message ?? 'invalid'}` },
        400,
        CORS_HEADER,
      );
    }
    const { limit, window } = query.data;
    const cap = limit === 'all' ? Number.POSITIVE_INFINITY : limit;
    if (window !== undefined) {
      if (!deps.store.readWindow) {
        return c.json(
          { error: 'not_implemented', message: 'this store does not keep per-minute counts' },
          501,
          CORS_HEADER,
        );
      }
      const view = await deps.store.readWindow(window, cap);
      return c.body(renderWindowStatsJson(view, limit), 200, JSON_HEADERS);
    }
    const view = await deps.store.read(cap);
    return c.body(renderStatsJson(view, limit), 200, JSON_HEADERS);
  });

  mountStatsStream(app, {
    render: (q) => app.request(`/stats?${q}`),
    maxClients: deps.streamMaxClients,
    log: deps.log,
  });
  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));
  mountDashboard(app, deps.webRoot ?? defaultWebRoot());

  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof WikistreamError && err.code === 'STORE_UNAVAILABLE') {
      // Cassandra not reachable (yet): say so, as /readyz does, without an error line per request.
      return c.json(
        { error: 'unavailable', message: 'the stats store is not reachable yet' },
        503,
        CORS_HEADER,
      );
    }
    deps.log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
