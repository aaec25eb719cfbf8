/**
 * Both images built and started without Docker, the way Docker would do it, so that a file missing
 * from the build context or a dev-only import in production fails here and not on a user's machine:
 *
 * 1. the build context: the files git would include, filtered by .dockerignore, copied apart;
 * 2. each Dockerfile's stages replayed: WORKDIR, ENV and COPY as written (from the context or an
 *    earlier stage), RUN as written (BuildKit flags dropped) in the build and deps stages. The two
 *    Dockerfiles share those stages (deploy-files.test.ts checks it), so they run once: one
 *    `npm ci` + `npm run build`, one `npm ci --omit=dev`. The runtime stage's RUN (apk add tini,
 *    /data) is system set-up and is not replayed; its COPYs are;
 * 3. the runtime CMDs started from the assembled runtime folder, with the Dockerfile's ENV and the
 *    environment docker-compose.yml gives them, addresses pointed at what runs here: the replay
 *    server (started from the producer image, as deploy/compose.replay.yml does), our Kafka-protocol
 *    test broker, and a Cassandra address nobody listens on.
 *
 * Node is the one running the tests: .ci/run runs them on Node 24, the images' major (CI also on 22).
 * Sizes go to test-artifacts/image-sizes.json.
 */
import { execSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type KafkaTestBroker, startKafkaBroker } from '../kafka-broker/broker.js';
import { type RunningChild, trackChild } from '../support/child-process.js';
import { REPO_ROOT } from '../support/paths.js';
import { waitFor } from '../support/wait-for.js';
import {
  buildContextFiles,
  execForm,
  parseCopy,
  parseEnv,
  readStages,
  runCommand,
  type Stage,
  stageText,
} from './dockerfile.js';

const BUILD_TIMEOUT_MS = 10 * 60_000;

interface StageResult {
  /** Folder standing for the stage's file system root. */
  readonly root: string;
  readonly workdir: string;
  readonly env: Record<string, string>;
  readonly last: Record<string, string>;
}

interface Image {
  readonly name: 'producer' | 'consumer';
  readonly runtime: StageResult;
  readonly cmd: string[];
}

let work = '';
let context = '';
let broker: KafkaTestBroker | undefined;
const images = new Map<string, Image>();
/** Stages already replayed, by their text: the shared build and deps stages run once. */
const replayed = new Map<string, StageResult>();
let stageCount = 0;

/** A minimal environment, so nothing of the test runner's (NODE_ENV=test, npm_config_*) leaks in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
  for (const key of ['TMPDIR', 'LANG', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

function replayStage(
  file: string,
  stage: Stage,
  done: Map<string, StageResult>,
  runRun: boolean,
): StageResult {
  const root = join(work, 'stages', `${stageCount++}-${stage.name}`);
  mkdirSync(root, { recursive: true });
  let workdir = '/';
  const env: Record<string, string> = {};
  const last: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    const where = `${file}:${instruction.line} ${instruction.keyword}`;
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, instruction.args);
        mkdirSync(join(root, workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(env, parseEnv(instruction.args));
        break;
      case 'COPY': {
        const copy = parseCopy(instruction.args);
        const from = copy.from === undefined ? context : done.get(copy.from)?.root;
        if (from === undefined) throw new Error(`${where}: stage ${copy.from} was not built before`);
        const dest = posix.resolve(workdir, copy.dest);
        const intoDir = copy.dest.endsWith('/') || copy.dest === '.' || copy.sources.length > 1;
        for (const source of copy.sources) {
          const path = join(from, source);
          if (!existsSync(path)) {
            throw new Error(
              `${where} ${source}: not in ${copy.from ? `stage ${copy.from}` : 'the build context'}`,
            );
          }
          // A directory's contents go into the destination; a file goes into it or becomes it.
          const target =
            statSync(path).isDirectory() || !intoDir ? join(root, dest) : join(root, dest, basename(source));
          cpSync(path, target, { recursive: true, verbatimSymlinks: true });
        }
        break;
      }
      case 'RUN':
        if (runRun) {
          try {
            execSync(runCommand(instruction.args), {
              cwd: join(root, workdir),
              env: { ...baseEnv(), ...env },
              stdio: 'pipe',
              encoding: 'utf8',
            });
          } catch (err) {
            const { stdout, stderr } = err as { stdout?: string; stderr?: string };
            throw new Error(`${where} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
          }
        }
        break;
      case 'USER':
      case 'EXPOSE':
      case 'HEALTHCHECK':
      case 'ENTRYPOINT':
      case 'CMD':
        last[instruction.keyword] = instruction.args;
        break;
      default:
        throw new Error(`${where}: not understood by this test`);
    }
  }
  return { root, workdir, env, last };
}

function buildImage(name: 'producer' | 'consumer'): Image {
  const file = `Dockerfile.${name}`;
  const stages = readStages(join(REPO_ROOT, file));
  const done = new Map<string, StageResult>();
  let runtime: StageResult | undefined;
  for (const stage of stages) {
    if (stage.name === 'runtime') {
      runtime = replayStage(file, stage, done, false);
      continue;
    }
    const key = stageText(stage);
    const result = replayed.get(key) ?? replayStage(file, stage, done, true);
    replayed.set(key, result);
    done.set(stage.name, result);
  }
  if (!runtime) throw new Error(`${file}: no runtime stage`);
  return { name, runtime, cmd: execForm(runtime.last.CMD ?? '') };
}

/** The environment docker-compose.yml gives a service (the replay override merged in). */
function composeEnv(service: string, withReplay: boolean): Record<string, string> {
  const read = (path: string) =>
    parse(readFileSync(join(REPO_ROOT, path), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string>; command?: string[] }>;
    };
  const env = { ...read('docker-compose.yml').services[service]?.environment };
  if (withReplay) Object.assign(env, read('deploy/compose.replay.yml').services[service]?.environment);
  return env;
}

/** Points the container addresses compose sets at what runs here; fails if compose changed them. */
function localise(env: Record<string, string>, local: Record<string, { was: string; now: string }>) {
  const out = { ...env };
  for (const [key, { was, now }] of Object.entries(local)) {
    expect(out[key], `docker-compose.yml sets ${key}`).toBe(was);
    out[key] = now;
  }
  return out;
}

/** Starts a command of the image from its working directory, as `docker run` would. */
function run(image: Image, argv: readonly string[], env: Record<string, string>): RunningChild {
  const [command, ...args] = argv;
  if (command !== 'node') throw new Error(`expected a node command, got ${argv.join(' ')}`);
  const child = spawn(process.execPath, args, {
    cwd: join(image.runtime.root, image.runtime.workdir),
    env: { ...baseEnv(), ...image.runtime.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackChild(child);
}

/** A free loopback port for a binary that takes its port from the environment (the race is harmless here). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get('content-type') ?? '',
  };
}

/** Waits until `path` answers at all (any status); fails at once, with its output, if the process exits. */
async function answering(child: RunningChild, port: number, path: string, timeoutMs = 45_000) {
  const result = await waitFor(
    async () => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return 'exited' as const;
      return await get(port, path);
    },
    { timeoutMs, intervalMs: 200, message: `${path} on port ${port}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- output ---\n${child.output()}`, { cause: err });
  });
  if (result === 'exited') {
    const code = child.process.exitCode ?? child.process.signalCode;
    throw new Error(`exited (${code}) before serving ${path}; output:\n${child.output()}`);
  }
  return result;
}

/** SIGTERM, as `docker stop` sends through tini: the process must drain and exit 0 in time. */
async function stopsCleanly(child: RunningChild, timeoutMs = 20_000) {
  child.process.kill('SIGTERM');
  const code = await Promise.race([
    child.exited,
    new Promise((resolve) => setTimeout(() => resolve('still running'), timeoutMs)),
  ]);
  expect(code, child.output()).toBe(0);
}

/** The replay server as deploy/compose.replay.yml runs it: from the producer image, on deploy/sample. */
async function startReplay(): Promise<string> {
  const service = (
    parse(readFileSync(join(REPO_ROOT, 'deploy/compose.replay.yml'), 'utf8')) as {
      services: { replay: { command: string[]; volumes: string[] } };
    }
  ).services.replay;
  const [hostDir, mountedAt] = (service.volumes[0] ?? '').split(':') as [string, string];
  const port = await freePort();
  const argv = service.command.map((arg) =>
    arg
      .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
      .replace('--host=0.0.0.0', '--host=127.0.0.1')
      .replace('--port=8090', `--port=${port}`)
      .replace(mountedAt, join(REPO_ROOT, hostDir)),
  );
  const replay = run(images.get('producer') as Image, argv, {});
  await waitFor(async () => (await get(port, '/healthz').catch(() => undefined))?.status === 200, {
    timeoutMs: 30_000,
    message: `replay server /healthz (${replay.output()})`,
  });
  return `http://127.0.0.1:${port}/v2/stream/recentchange`;
}

function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

const tempDir = (label: string) => {
  const dir = mkdtempSync(join(work, `${label}-`));
  return dir;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'wikistream-image-'));
  context = join(work, 'context');
  for (const file of buildContextFiles()) {
    mkdirSync(join(context, posix.dirname(file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(context, file));
  }
  images.set('producer', buildImage('producer'));
  images.set('consumer', buildImage('consumer'));
  broker = await startKafkaBroker({ defaultPartitions: 1 });
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await broker?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the images, built from a clean copy of the build context', () => {
  it('hold production dependencies only, and stay small', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([key, pkg]) => key !== '' && pkg.dev === true)
      .map(([key]) => key);
    const sizes: Record<string, number> = {};
    for (const image of images.values()) {
      const app = join(image.runtime.root, image.runtime.workdir);
      const leaked = devOnly.filter((key) => existsSync(join(app, key)));
      expect(leaked, `${image.name}: dev packages in the runtime image`).toEqual([]);
      expect(readdirSync(app).sort()).toEqual(
        image.name === 'consumer'
          ? ['db', 'dist', 'node_modules', 'package.json']
          : ['dist', 'node_modules', 'package.json'],
      );
      sizes[`${image.name}.node_modules`] = sizeOf(join(app, 'node_modules'));
      sizes[`${image.name}.dist`] = sizeOf(join(app, 'dist'));
      expect(existsSync(join(app, 'dist/cmd/replay/main.js')), 'replay server built').toBe(true);
      expect(existsSync(join(app, 'dist/web/index.html')), 'dashboard built').toBe(true);
    }
    sizes.contextFiles = buildContextFiles().length;
    sizes.contextBytes = sizeOf(context);
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(
      join(REPO_ROOT, 'test-artifacts', 'image-sizes.json'),
      `${JSON.stringify(sizes, null, 2)}\n`,
    );
    // Production node_modules measured ~25 MB; 60 MB means a dev package or a heavy dependency crept in.
    expect(sizes['producer.node_modules']).toBeLessThan(60 * 1024 * 1024);
  });

  it('producer: CMD starts with the compose environment, serves /healthz, stops on SIGTERM with exit 0', {
    timeout: 120_000,
  }, async () => {
    const producer = images.get('producer') as Image;
    const url = await startReplay();
    const metricsPort = await freePort();
    const env = localise(composeEnv('producer', true), {
      REDPANDA_BROKER: { was: 'redpanda:9092', now: broker?.address ?? '' },
      WIKIPEDIA_STREAM_URL: { was: 'http://replay:8090/v2/stream/recentchange', now: url },
      METRICS_PORT: { was: '9464', now: String(metricsPort) },
      HTTP_HOST: { was: '0.0.0.0', now: '127.0.0.1' },
      DATA_DIR: { was: '/data', now: tempDir('producer-data') },
    });
    const child = run(producer, producer.cmd, env);
    const health = await answering(child, metricsPort, '/healthz');
    expect(health.status).toBe(200);
    await stopsCleanly(child);
  });

  it('consumer: CMD starts on STORAGE=cassandra, /healthz 200 and /readyz 503 without Cassandra', {
    timeout: 120_000,
  }, async () => {
    const consumer = images.get('consumer') as Image;
    const httpPort = await freePort();
    const nobody = await freePort(); // no Cassandra listens here
    const env = localise(composeEnv('consumer', false), {
      REDPANDA_BROKER: { was: 'redpanda:9092', now: broker?.address ?? '' },
      CASSANDRA_CONTACT_POINTS: { was: 'cassandra:9042', now: `127.0.0.1:${nobody}` },
      HTTP_PORT: { was: '8080', now: String(httpPort) },
      HTTP_HOST: { was: '0.0.0.0', now: '127.0.0.1' },
      DATA_DIR: { was: '/data', now: tempDir('consumer-data') },
    });
    expect(env.STORAGE).toBe('cassandra');
    const child = run(consumer, consumer.cmd, env);
    const health = await answering(child, httpPort, '/healthz');
    expect(health.status).toBe(200);
    // Alive but not ready, and staying so: the store is unreachable, and saying so (rather than
    // crashing or claiming readiness) is the consumer's job. Checked for a few seconds.
    for (let i = 0; i < 10; i++) {
      const ready = await get(httpPort, '/readyz');
      expect(ready.status, `${ready.body}\n${child.output()}`).toBe(503);
      expect((await get(httpPort, '/healthz')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const page = await get(httpPort, '/');
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    await stopsCleanly(child);
  });

  it('embedded mode from the same dist/ counts replayed events with production dependencies only', {
    timeout: 120_000,
  }, async () => {
    const producer = images.get('producer') as Image;
    const url = await startReplay();
    const httpPort = await freePort();
    const child = run(producer, ['node', 'dist/cmd/embedded/main.js'], {
      WIKIPEDIA_STREAM_URL: url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      DATA_DIR: tempDir('embedded-data'),
      LOG_FORMAT: 'json',
    });
    await answering(child, httpPort, '/healthz');
    const stats = await waitFor(
      async () => {
        const body = JSON.parse((await get(httpPort, '/stats')).body) as { total: number; by_domain: object };
        return body.total > 0 && Object.keys(body.by_domain).length > 0 && body;
      },
      { timeoutMs: 30_000, message: `/stats counting events (${child.output()})` },
    );
    expect(stats.total).toBeGreaterThan(0);
    const page = await get(httpPort, '/');
    expect(page.status).toBe(200);
    await stopsCleanly(child);
  });
});
