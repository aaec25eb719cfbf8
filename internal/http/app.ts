import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import type { StatsStore } from '../store/stats-store.js';
import { renderStatsJson } from './stats-json.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;

/** `?limit=N` (1..MAX_LIMIT) or `?limit=all`; anything else, or an unknown parameter, is a 400. */
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
  })
  .strict();

export interface HttpDeps {
  readonly store: StatsStore;
  /** Ready to serve real numbers: connected to what this process depends on (`/readyz`). */
  readonly ready: () => Promise<boolean>;
  readonly log: Logger;
}

/**
 * The HTTP surface, shared by the embedded mode and the consumer: `/stats`, `/healthz`, `/readyz`.
 * CORS is open for GET so a dashboard served elsewhere can read `/stats`.
 */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.use('*', cors({ origin: '*', allowMethods: ['GET', 'HEAD', 'OPTIONS'] }));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const ready = await deps.ready().catch(() => false);
    return c.json({ ready }, ready ? 200 : 503);
  });

  app.get('/stats', async (c) => {
    const query = statsQuery.safeParse(c.req.query());
    if (!query.success) {
      const issue = query.error.issues[0];
      const param = issue?.path[0] ?? String(issue && 'keys' in issue ? issue.keys : '');
      return c.json(
        { error: 'bad_request', message: `query parameter ${String(param)}: ${issue?.message ?? 'invalid'}` },
        400,
      );
    }
    const limit = query.data.limit;
    const view = await deps.store.read(limit === 'all' ? Number.POSITIVE_INFINITY : limit);
    return c.body(renderStatsJson(view, limit), 200, { 'content-type': 'application/json; charset=utf-8' });
  });

  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.path}` }, 404));
  app.onError((err, c) => {
    deps.log.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
