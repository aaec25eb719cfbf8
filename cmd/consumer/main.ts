// Consumer: Kafka topic -> stats (exactly once in effect) -> store (memory or Cassandra) -> /stats.
import { loadConfig } from '../../internal/config/config.js';
import { ConsumerPipeline } from '../../internal/consumer/consumer-pipeline.js';
import { LagMonitor } from '../../internal/consumer/lag-monitor.js';
import { restoreMemoryStore } from '../../internal/consumer/memory-store-checkpoint.js';
import { createHttpApp } from '../../internal/http/app.js';
import { startHttpServer } from '../../internal/http/server.js';
import { createKafka } from '../../internal/kafka/kafka-client.js';
import { ensureTopics } from '../../internal/kafka/topics.js';
import { handleShutdown, runMain } from '../../internal/lifecycle/run-main.js';
import { createLogger } from '../../internal/log/logger.js';
import { createMetrics } from '../../internal/metrics/metrics.js';
import { createStore } from '../../internal/store/create-store.js';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    name: 'wikistream-consumer',
  });
  const shutdown = handleShutdown(config.shutdownTimeoutMs, log);
  const metrics = createMetrics();
  const created = createStore(config, log);
  const { store } = created;
  shutdown.add({ what: 'close the store', run: () => store.close() });
  const checkpoint =
    created.kind === 'memory' ? await restoreMemoryStore(created.store, config, log) : undefined;
  if (checkpoint) {
    shutdown.add({ what: 'write the final checkpoint', run: () => checkpoint.stop() });
    metrics.bindCheckpoint(checkpoint);
  }

  const kafka = createKafka(config, log);
  const pipeline = new ConsumerPipeline(
    kafka,
    config,
    store,
    {
      onApplied: () => checkpoint?.markDirty(),
      onFatal: (err) => {
        log.fatal({ err }, 'consumer cannot recover; exiting so the orchestrator restarts it');
        process.exit(1);
      },
    },
    log,
    metrics,
  );
  // Serve /healthz and /readyz (false) while the broker and the store come up.
  const ready = async () =>
    pipeline.isConnected && (checkpoint?.writable ?? true) && (await store.ping().then(() => true));
  const app = createHttpApp({
    store,
    ready,
    log: log.child({ component: 'http' }),
    metrics: metrics.registry,
    streamMaxClients: config.stream.maxClients,
  });
  const server = await startHttpServer(app, config.http.host, config.http.port);
  shutdown.add({ what: 'close the HTTP server', run: () => server.close() });
  log.info({ port: server.port, storage: config.storage }, 'consumer HTTP running');

  if (created.kind === 'cassandra') await created.ready;
  const admin = kafka.admin();
  await admin.connect();
  const lag = new LagMonitor(admin, config.kafka.topic, config.kafka.groupId, metrics, log);
  shutdown.add({ what: 'stop the lag monitor', run: () => lag.stop() });
  const partitions = await ensureTopics(admin, config, log);
  if (partitions < config.kafka.consumerConcurrency) {
    log.warn(
      { partitions, concurrency: config.kafka.consumerConcurrency },
      'topic has fewer partitions than CONSUMER_CONCURRENCY: the extra concurrency sits idle',
    );
  }
  shutdown.add({ what: 'finish in-flight batches, commit, leave the group', run: () => pipeline.stop() });
  await pipeline.start();
  lag.start(10_000);
  log.info({ topic: config.kafka.topic, groupId: config.kafka.groupId }, 'consumer running');
});
