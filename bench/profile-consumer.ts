// `npx tsx bench/profile-consumer.ts [EVENTS]`: the consumer binary under load with `node --cpu-prof`:
// broker (test broker, or KAFKA_BENCH_BROKERS) filled by the bare producer, then `dist/cmd/consumer`
// (STORAGE=memory) catches up EVENTS events; prints the self-time summary of its profile.
// Run `npm run build` first.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileMarkdown, summariseProfile } from './cpu-profile.js';
import { consumerEnv, createTopic, startBroker, statsTotal, writeEventsFile } from './kafka-setup.js';
import { spawnNode, startArgs, stop } from './processes.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'wikistream-profile-'));
const broker = await startBroker();
try {
  const file = writeEventsFile(dir, EVENTS);
  const topic = `profile.${Date.now()}`;
  await createTopic(broker.address, topic);
  const producer = spawnNode(['bench/bare/kafkajs-producer.ts', broker.address, topic, file]);
  await producer.line(/done/);
  await stop(producer); // it stays until SIGTERM (for the kafka bench's CPU reading): a hang otherwise
  const profDir = join(dir, 'prof');
  const consumer = spawnNode(startArgs('consumer'), consumerEnv(broker.address, topic, dir), [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
  ]);
  const port = Number((await consumer.line(/"port":(\d+).*HTTP running/)).match[1]);
  const start = performance.now();
  while ((await statsTotal(port)) < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - start) / 1000;
  await stop(consumer);
  const profile = join(profDir, readdirSync(profDir)[0] as string);
  const summary = summariseProfile(profile, 25);
  let text = `consumer binary, ${EVENTS} events in ${seconds.toFixed(1)} s (${Math.round(EVENTS / seconds)} events/s, profiled), ${summary.totalMs.toFixed(0)} ms sampled\n\n${profileMarkdown(summary)}`;
  if (process.env.PROFILE_BARE) {
    const bareDir = join(dir, 'bare-prof');
    const bare = spawnNode(
      ['bench/bare/kafkajs-consumer.ts', broker.address, topic, `${topic}.bare`, String(EVENTS)],
      {},
      ['--cpu-prof', `--cpu-prof-dir=${bareDir}`],
    );
    await bare.line(/done/);
    await stop(bare);
    const b = summariseProfile(join(bareDir, readdirSync(bareDir)[0] as string), 25);
    text += `\nbare kafkajs consumer, ${b.totalMs.toFixed(0)} ms sampled\n\n${profileMarkdown(b)}`;
  }
  process.stdout.write(text);
  writeFileSync(join(tmpdir(), 'wikistream-consumer-profile.md'), text);
} finally {
  await stop(broker.watched);
  if (!process.env.KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
}
