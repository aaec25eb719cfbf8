import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startChild } from '../support/child-process.js';
import { tempDataDir } from '../support/pipeline.js';

/** Nothing listens there: a start-up that got as far as connecting would just retry, not exit. */
const NO_STREAM = 'http://127.0.0.1:9/v2/stream/recentchange';

/** Starts the embedded binary, expects exit 2 with one line containing every `expected`. */
async function expectOneLineExit2(env: Record<string, string>, ...expected: string[]): Promise<string> {
  const child = startChild('cmd/embedded/main.ts', {
    WIKIPEDIA_STREAM_URL: NO_STREAM,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: tempDataDir(),
    ...env,
  });
  expect(await child.exited).toBe(2);
  const output = child.output().trim();
  for (const text of expected) expect(output).toContain(text);
  expect(output.split('\n')).toHaveLength(1); // one line, no stack trace
  return output;
}

describe('start-up with a bad configuration', () => {
  it.each([
    ['HTTP_PORT', 'eighty', 'HTTP_PORT must be a whole number from 0 to 65535'],
    ['STORAGE', 'redis', 'STORAGE must be memory or cassandra'],
    [
      'WIKIPEDIA_STREAM_URL',
      'stream.wikimedia.org/v2/stream/recentchange',
      'WIKIPEDIA_STREAM_URL must be an http',
    ],
    ['LOG_LEVEL', 'chatty', 'LOG_LEVEL must be one of'],
    ['DEDUP_WINDOW', '-5', 'DEDUP_WINDOW must be a whole number'],
    ['SSE_IDLE_TIMEOUT_MS', '10', 'SSE_IDLE_TIMEOUT_MS must be at least 1000'],
    ['USER_AGENT_CONTACT', 'ops \u{1F600} example.org', 'USER_AGENT_CONTACT must be printable ASCII'],
    ['USER_AGENT_CONTACT', 'ops@example.org\r\nX-Injected: 1', 'USER_AGENT_CONTACT must be printable ASCII'],
    ['KAFKA_DLQ_TOPIC', 'wikipedia.changes', 'KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC'],
  ])('%s=%j stops the embedded binary with one line naming it, exit 2', async (name, value, message) => {
    await expectOneLineExit2({ [name]: value }, message);
  });

  it('a port in use is one line naming HTTP_PORT, exit 2', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const { port } = blocker.address() as AddressInfo;
    await expectOneLineExit2({ HTTP_PORT: String(port) }, `HTTP_PORT ${port} is already in use`);
  });

  it('an unresolvable HTTP_HOST is one line naming it, exit 2', async () => {
    // .invalid never resolves (RFC 6761); with no DNS at all the lookup fails as EAI_AGAIN, mapped alike.
    await expectOneLineExit2(
      { HTTP_HOST: 'wikistream.invalid' },
      'HTTP_HOST "wikistream.invalid" does not resolve',
    );
  });

  it('a DATA_DIR that is a regular file is one line naming it, exit 2', async () => {
    const file = join(tempDataDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expectOneLineExit2({ DATA_DIR: file }, 'DATA_DIR', 'is not a writable directory');
  });

  it('a DATA_DIR under a regular file (cannot be created) is one line naming it, exit 2', async () => {
    // As root, chmod cannot make a directory unwritable; a path through a file fails for anyone.
    const file = join(tempDataDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expectOneLineExit2({ DATA_DIR: join(file, 'data') }, 'DATA_DIR', '(ENOTDIR)');
  });
});

describe('start-up with a bad checkpoint', () => {
  const good = {
    version: 1,
    url: NO_STREAM,
    cursor: '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":41}]',
    store: {
      stats: {
        total: 3000,
        rejected: 0,
        bots: 1000,
        humans: 2000,
        lastEventMs: 1_784_293_240_552,
        byDomain: [['en.wikipedia.org', 3000]],
        byUser: [['Alice', 3000]],
        byType: [['edit', 3000]],
      },
      partitions: [{ topic: 'wikimedia-sse', partition: 0, nextOffset: 3000, recentIds: ['a', 'b'] }],
    },
  };
  const withStats = (stats: Record<string, unknown>) => ({
    ...good,
    store: { ...good.store, stats: { ...good.store.stats, ...stats } },
  });
  const { cursor: _cursor, ...cursorLess } = good;

  it.each([
    ['counts that are strings', withStats({ total: '03000' }), 'store.stats.total'],
    ['a null count', withStats({ byUser: [['Alice', null]] }), 'store.stats.byUser.0.1'],
    ['a negative count', withStats({ humans: -1 }), 'store.stats.humans'],
    [
      'a non-integer offset',
      { ...good, store: { ...good.store, partitions: [{ ...good.store.partitions[0], nextOffset: 1.5 }] } },
      'nextOffset',
    ],
    ['no cursor', cursorLess, 'cursor'],
    ['null', null, '(root)'],
    ['an empty object', {}, 'version'],
  ])('%s: exit 2 with one line naming the file and what to do', async (_name, content, where) => {
    const dataDir = tempDataDir();
    const path = join(dataDir, 'embedded-checkpoint.json');
    writeFileSync(path, JSON.stringify(content));
    await expectOneLineExit2(
      { DATA_DIR: dataDir },
      `checkpoint ${path}`,
      where,
      'move it away to start from scratch',
    );
  });

  it('not JSON: exit 2 with one line naming the file', async () => {
    const dataDir = tempDataDir();
    const path = join(dataDir, 'embedded-checkpoint.json');
    writeFileSync(path, '{"version":1,');
    await expectOneLineExit2({ DATA_DIR: dataDir }, `checkpoint ${path} is not valid JSON`, 'move it away');
  });
});
