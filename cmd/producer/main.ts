// Producer: Wikimedia EventStreams (SSE) -> Kafka topic, resuming from the acknowledged cursor.
import { loadConfig } from '../../internal/config/config.js';
import { createHttpProbeApp } from '../../internal/http/probe-app.js';
import { startHttpServer } from '../../internal/http/server.js';
import { createKafka } from '../../internal/kafka/kafka-client.js';
import { ensureTopics } from '../../internal/kafka/topics.js';
import { handleShutdown, runMain } from '../../internal/lifecycle/run-main.js';
import { createLogger } from '../../internal/log/logger.js';
import { ProducerPipeline } from '../../internal/producer/producer-pipeline.js';

runMain(async () => {
  const config = loadConfig();
  const log = createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    name: 'wikistream-producer',
  });
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config, log);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
  let connected = false;
  producer.on(producer.events.CONNECT, () => {
    connected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });
  await producer.connect();
  const pipeline = new ProducerPipeline(config, producer, log);
  await pipeline.start();
  const app = createHttpProbeApp({ ready: async () => connected && !pipeline.source.isPaused });
  const server = await startHttpServer(app, config.http.host, config.http.metricsPort);
  log.info({ port: server.port, topic: config.kafka.topic, url: config.source.url }, 'producer running');
  handleShutdown(
    [
      { what: 'stop reading and flush in-flight events to the broker', run: () => pipeline.stop() },
      { what: 'disconnect the Kafka producer', run: () => producer.disconnect() },
      { what: 'close the probe HTTP server', run: () => server.close() },
    ],
    config.shutdownTimeoutMs,
    log,
  );
});
