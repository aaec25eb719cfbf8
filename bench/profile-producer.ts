// `npx tsx bench/profile-producer.ts [EVENTS]`: the producer binary under load with `node --cpu-prof`:
// the replay server (rate 0) -> `dist/cmd/producer` -> broker (test broker, or KAFKA_BENCH_BROKERS)
// until EVENTS records are in the topic; prints the self-time summary of its profile.
// Run `npm run build` first.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileMarkdown, summariseProfile } from './cpu-profile.js';
import { admin, binaryEnv, createTopic, startBroker } from './kafka-setup.js';
import { dist, spawnNode, startArgs, stop } from './processes.js';
import { replayArgs } from './support.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'wikistream-profile-'));
const broker = await startBroker();
const replay = spawnNode([dist('replay'), ...replayArgs(EVENTS)]);
try {
  const url = (await replay.line(/replaying \d+ events at (\S+)/)).match[1] as string;
  const topic = `profile.${Date.now()}`;
  await createTopic(broker.address, topic);
  const profDir = join(dir, 'prof');
  const start = performance.now();
  const producer = spawnNode(
    startArgs('producer'),
    { ...binaryEnv(broker.address, topic, dir), WIKIPEDIA_STREAM_URL: url },
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  );
  const a = admin(broker.address);
  await a.connect();
  const produced = async () => (await a.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  while ((await produced()) < EVENTS) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - start) / 1000;
  await a.disconnect();
  await stop(producer);
  const profile = join(profDir, readdirSync(profDir)[0] as string);
  const summary = summariseProfile(profile, 30);
  const text = `producer binary, ${EVENTS} events in ${seconds.toFixed(1)} s from its start (${Math.round(EVENTS / seconds)} events/s, profiled), ${summary.totalMs.toFixed(0)} ms sampled\n\n${profileMarkdown(summary)}`;
  process.stdout.write(text);
  writeFileSync(join(tmpdir(), 'wikistream-producer-profile.md'), text);
} finally {
  await stop(replay);
  await stop(broker.watched);
  if (!process.env.KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
}
