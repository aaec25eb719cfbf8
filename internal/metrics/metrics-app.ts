import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';

/** A hono handler for `GET /metrics`: the registry in Prometheus text format, with its content type. */
export function metricsHandler(registry: Registry): (c: Context) => Promise<Response> {
  return async (c) => {
    const body = await registry.metrics();
    return c.body(body, 200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  };
}

/**
 * The producer's own small HTTP surface (it serves no `/stats`): `/metrics`, `/healthz`, `/readyz`,
 * on `config.http.metricsPort`. Start it with `startHttpServer`.
 */
export function createMetricsApp(registry: Registry, ready: () => Promise<boolean>, log?: Logger): Hono {
  const app = new Hono();
  app.get('/metrics', metricsHandler(registry));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const isReady = await ready().catch(() => false);
    return c.json({ ready: isReady }, isReady ? 200 : 503);
  });
  app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.path}` }, 404));
  app.onError((err, c) => {
    log?.error({ err, path: c.req.path }, 'request failed');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
