import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { metricsHandler } from '../metrics/metrics-app.js';
import { WINDOW_RETENTION_MINUTES } from '../stats/minute-buckets.js';
import type { StatsStore } from '../store/stats-store.js';
import { defaultWebRoot, mountDashboard } from './dashboard-assets.js';
import {
  renderDomainJson,
  renderPagesJson,
  renderStatsJson,
  renderUserJson,
  renderWindowStatsJson,
} from './stats-json.js';
import { mountStatsStream } from './stats-stream.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;
const CORS_HEADER = { 'access-control-allow-origin': '*' } as const;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...CORS_HEADER } as const;

/**
 * `?window=`: the last N minutes of event time, `1m`..`60m` or `1h`..`24h`, ending at the newest
 * event's minute (not the wall clock: recorded and live data read the same way).
 */
const windowParam = z
  .string()
  .optional()
  .transform((value, ctx): number | undefined => {
    if (value === undefined) return undefined;
    const match = /^(\d{1,2})(m|h)$/.exec(value);
    const n = match ? Number(match[1]) : Number.NaN;
    const ok = match?.[2] === 'h' ? n >= 1 && n <= WINDOW_RETENTION_MINUTES / 60 : n >= 1 && n <= 60;
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message: `must be minutes from 1m to 60m or hours from 1h to ${WINDOW_RETENTION_MINUTES / 60}h, e.g. 5m or 6h`,
      });
      return z.NEVER;
    }
    return match?.[2] === 'h' ? n * 60 : n;
  });

/** `?limit=N` (1..MAX_LIMIT) or `?limit=all`. */
const limitParam = z
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
  });

const domainParam = z.string().min(1, 'must be a wiki domain, e.g. en.wikipedia.org').max(500).optional();

/** Each route's parameters; anything else, an unknown parameter or a repeated one, is a 400. */
const statsQuery = z.object({ limit: limitParam, window: windowParam, domain: domainParam }).strict();
const userQuery = z.object({ limit: limitParam, window: windowParam }).strict();
const pagesQuery = z.object({ limit: limitParam, window: windowParam, domain: domainParam }).strict();

/** The default window of `/stats/pages`: pages are only kept for the windows. */
const DEFAULT_PAGES_MINUTES = 60;

/** Methods every route answers; another method on a known route is a 405 with `Allow`. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALLOW = 'GET, HEAD, OPTIONS';
const USERS_PREFIX = '/stats/users/';

type Parsed<T> = { ok: true; data: T } | { ok: false; message: string };

/** Validates a route's query: every parameter once, then its schema. */
function parseQuery<T>(schema: z.ZodType<T>, c: Context): Parsed<T> {
  const all = c.req.queries();
  for (const [name, values] of Object.entries(all)) {
    if (values.length > 1) return { ok: false, message: `query parameter ${name}: must be given once` };
  }
  const single: Record<string, string> = {};
  for (const [name, values] of Object.entries(all)) single[name] = values[0] as string;
  const query = schema.safeParse(single);
  if (query.success) return { ok: true, data: query.data };
  const issue = query.error.issues[0];
  const param = issue?.path[0] ?? String(issue && 'keys' in issue ? issue.keys : '');
  return { ok: false, message: `query parameter ${String(param)}: ${issue?.message ?? 'invalid'}` };
}

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

  const badRequest = (c: Context, message: string) =>
    c.json({ error: 'bad_request', message }, 400, CORS_HEADER);
  const notFound = (c: Context, message: string) => c.json({ error: 'not_found', message }, 404, CORS_HEADER);
  const notImplemented = (c: Context, what: string) =>
    c.json({ error: 'not_implemented', message: `this store does not keep ${what}` }, 501, CORS_HEADER);
  const json = (c: Context, body: string) => c.body(body, 200, JSON_HEADERS);
  const capOf = (limit: number | 'all') => (limit === 'all' ? Number.POSITIVE_INFINITY : limit);

  app.get('/stats', async (c) => {
    const query = parseQuery(statsQuery, c);
    if (!query.ok) return badRequest(c, query.message);
    const { limit, window, domain } = query.data;
    const cap = capOf(limit);
    if (domain !== undefined) {
      if (!deps.store.readDomain) return notImplemented(c, 'counts by wiki');
      const view = await deps.store.readDomain(
        domain,
        window === undefined ? { limit: cap } : { limit: cap, minutes: window },
      );
      if (!view) return notFound(c, `no events for domain ${domain}`);
      return json(c, renderDomainJson(view, limit));
    }
    if (window !== undefined) {
      if (!deps.store.readWindow) return notImplemented(c, 'per-minute counts');
      const view = await deps.store.readWindow(window, cap);
      return json(c, renderWindowStatsJson(view, limit));
    }
    const view = await deps.store.read(cap);
    return json(c, renderStatsJson(view, limit));
  });

  // Any name, "a/b" included (sent as a%2Fb, or as a literal slash): the rest of the raw path,
  // decoded once here, rather than a router parameter that stops at a slash.
  app.get(`${USERS_PREFIX}*`, async (c) => {
    const raw = new URL(c.req.url).pathname.slice(USERS_PREFIX.length);
    let user: string;
    try {
      user = decodeURIComponent(raw);
    } catch {
      return badRequest(c, 'user name: not valid percent-encoding');
    }
    if (user === '') return badRequest(c, 'user name: must not be empty');
    const query = parseQuery(userQuery, c);
    if (!query.ok) return badRequest(c, query.message);
    if (!deps.store.readUser) return notImplemented(c, 'counts by user');
    const { limit, window } = query.data;
    const cap = capOf(limit);
    const view = await deps.store.readUser(
      user,
      window === undefined ? { limit: cap } : { limit: cap, minutes: window },
    );
    if (!view) return notFound(c, `no events for user ${user}`);
    return json(c, renderUserJson(view, limit));
  });

  app.get('/stats/pages', async (c) => {
    const query = parseQuery(pagesQuery, c);
    if (!query.ok) return badRequest(c, query.message);
    if (!deps.store.readPages) return notImplemented(c, 'page counts');
    const { limit, window, domain } = query.data;
    const view = await deps.store.readPages({
      minutes: window ?? DEFAULT_PAGES_MINUTES,
      limit: capOf(limit),
      ...(domain === undefined ? {} : { domain }),
    });
    return json(c, renderPagesJson(view, limit));
  });

  mountStatsStream(app, {
    render: (q) => app.request(`/stats?${q}`),
    maxClients: deps.streamMaxClients,
    log: deps.log,
  });
  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));
  mountDashboard(app, deps.webRoot ?? defaultWebRoot());

  // Registered last: a read method falls through to its route (or the 404); any other method on a
  // known route is a 405 that names the allowed ones.
  const known = [
    '/',
    '/assets/*',
    '/stats',
    `${USERS_PREFIX}*`,
    '/stats/pages',
    '/stats/stream',
    '/healthz',
    '/readyz',
  ];
  if (deps.metrics) known.push('/metrics');
  for (const path of known) {
    app.all(path, async (c, next) => {
      if (READ_METHODS.has(c.req.method)) return next();
      return c.json(
        { error: 'method_not_allowed', message: `${c.req.method} is not allowed on ${c.req.path}; use GET` },
        405,
        { ...CORS_HEADER, allow: ALLOW },
      );
    });
  }

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
