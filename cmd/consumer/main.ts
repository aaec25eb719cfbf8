// Consumer: Kafka topic -> stats (exactly once in effect) -> store -> /stats.
import { loadConfig } from '../../internal/config/config.js';
import { ConsumerPipeline } from '../../internal/consumer/consumer-pipeline.js';
import { openMemoryStore } from '../../internal/consumer/memory-store-checkpoint.js';
import { createHttpApp } from '../../internal/http/app.js';
import { startHttpServer } from '../../internal/http/server.js';
import { createKafka } from '../../internal/kafka/kafka-client.js';
import { ensureTopics } from '../../internal/kafka/topics.js';
import { handleShutdown, runMain } from '../../internal/lifecycle/run-main.js';
import { createLogger } from '../../internal/log/logger.js';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    name: 'wikistream-consumer',
  });
  const { store, checkpoint } = await openMemoryStore(config, log);
  const kafka = createKafka(config, log);
  const pipeline = new ConsumerPipeline(
    kafka,
    config,
    store,
    {
      onApplied: () => checkpoint.markDirty(),
      onFatal: (err) => {
        log.fatal({ err }, 'consumer cannot recover; exiting so the orchestrator restarts it');
        process.exit(1);
      },
    },
    log,
  );
  const ready = async () => pipeline.isConnected && (await store.ping().then(() => true));
  const app = createHttpApp({ store, ready, log: log.child({ component: 'http' }) });
  const server = await startHttpServer(app, config.http.host, config.http.port);

  const admin = kafka.admin();
  await admin.connect();
  const partitions = await ensureTopics(admin, config, log);
  await admin.disconnect();
  if (partitions < config.kafka.consumerConcurrency) {
    log.warn(
      { partitions, concurrency: config.kafka.consumerConcurrency },
      'topic has fewer partitions than CONSUMER_CONCURRENCY: the extra concurrency sits idle',
    );
  }
  await pipeline.start();
  log.info({ port: server.port, topic: config.kafka.topic, storage: config.storage }, 'consumer running');
  handleShutdown(
    [
      { what: 'finish in-flight batches, commit, leave the group', run: () => pipeline.stop() },
      { what: 'write the final checkpoint', run: () => checkpoint.stop() },
      { what: 'close the HTTP server', run: () => server.close() },
      { what: 'close the store', run: () => store.close() },
    ],
    config.shutdownTimeoutMs,
    log,
  );
});
