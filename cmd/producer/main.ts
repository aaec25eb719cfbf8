// Producer: Wikimedia EventStreams (SSE) -> Kafka topic, resuming from the acknowledged cursor.
import { loadConfig } from '../../internal/config/config.js';
import { startHttpServer } from '../../internal/http/server.js';
import { createIdempotentProducer, createKafka } from '../../internal/kafka/kafka-client.js';
import { ensureTopics } from '../../internal/kafka/topics.js';
import { handleShutdown, runMain } from '../../internal/lifecycle/run-main.js';
import { createLogger } from '../../internal/log/logger.js';
import { createMetrics } from '../../internal/metrics/metrics.js';
import { createMetricsApp } from '../../internal/metrics/metrics-app.js';
import { ProducerPipeline } from '../../internal/producer/producer-pipeline.js';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    name: 'wikistream-producer',
  });
  const shutdown = handleShutdown(config.shutdownTimeoutMs, log);
  const metrics = createMetrics();
  const kafka = createKafka(config, log);
  const producer = createIdempotentProducer(kafka);
  let connected = false;
  producer.on(producer.events.CONNECT, () => {
    connected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });
  const pipeline = new ProducerPipeline(config, producer, log, metrics, {
    sourceThread: {
      onFatal: (err) => {
        log.fatal({ err }, 'the stream reader died; exiting so the orchestrator restarts us');
        process.exit(1);
      },
    },
  });
  metrics.bindCheckpoint(pipeline.checkpoint);
  const ready = async () => connected && !pipeline.source.isPaused && pipeline.checkpoint.writable;
  const app = createMetricsApp(metrics.registry, ready, log.child({ component: 'http' }));
  const server = await startHttpServer(app, config.http.host, config.http.metricsPort, {
    host: 'HTTP_HOST',
    port: 'METRICS_PORT',
  });
  shutdown.add({ what: 'close the metrics HTTP server', run: () => server.close() });

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config, log);
  await admin.disconnect();
  await producer.connect();
  shutdown.add({ what: 'disconnect the Kafka producer', run: () => producer.disconnect() });
  shutdown.add({ what: 'stop reading and flush in-flight events to the broker', run: () => pipeline.stop() });
  await pipeline.start();
  log.info({ port: server.port, topic: config.kafka.topic, url: config.source.url }, 'producer running');
});
