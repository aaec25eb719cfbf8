// Embedded mode (`npm start`): source -> stats -> memory store -> HTTP in one process, no broker.
import { loadConfig } from '../../internal/config/config.js';
import { EmbeddedPipeline } from '../../internal/embedded/embedded-pipeline.js';
import { createHttpApp } from '../../internal/http/app.js';
import { startHttpServer } from '../../internal/http/server.js';
import { handleShutdown, runMain } from '../../internal/lifecycle/run-main.js';
import { createLogger } from '../../internal/log/logger.js';
import { createMetrics } from '../../internal/metrics/metrics.js';
import { MemoryStatsStore } from '../../internal/store/memory-store.js';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    name: 'wikistream-embedded',
  });
  const shutdown = handleShutdown(config.shutdownTimeoutMs, log);
  const store = new MemoryStatsStore(config.dedupWindow);
  const metrics = createMetrics();
  const pipeline = new EmbeddedPipeline(config, store, log, metrics);
  metrics.bindCheckpoint(pipeline.checkpoint);
  const app = createHttpApp({
    store,
    // Not ready while DATA_DIR cannot be written: what is counted now would not survive a restart.
    ready: async () => pipeline.checkpoint.writable,
    log: log.child({ component: 'http' }),
    metrics: metrics.registry,
    streamMaxClients: config.stream.maxClients,
  });
  const server = await startHttpServer(app, config.http.host, config.http.port);
  shutdown.add({ what: 'close HTTP server', run: () => server.close() });
  await pipeline.start();
  shutdown.add({ what: 'stop source and write final checkpoint', run: () => pipeline.stop() });
  log.info(
    { port: server.port, url: config.source.url, dataDir: config.dataDir },
    'embedded pipeline running',
  );
});
