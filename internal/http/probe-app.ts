import { Hono } from 'hono';

/**
 * The producer's small HTTP surface on METRICS_PORT: liveness and readiness (and `/metrics` once
 * mounted by the metrics module). The consumer serves these from the stats app instead.
 */
export function createHttpProbeApp(deps: { ready: () => Promise<boolean> }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await deps.ready().catch(() => false);
    return c.json({ ready }, ready ? 200 : 503);
  });
  return app;
}
