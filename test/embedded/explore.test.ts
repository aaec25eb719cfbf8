import { describe, it } from 'vitest';
import { listeningPort, startChild } from '../support/child-process.js';
import { expectExploreExact } from '../support/explore-expected.js';
import {
  TEST_EXPECTED as EXPECTED,
  settledStats,
  startReplay,
  statsReaching,
  TEST_EVENTS,
  tempDataDir,
} from '../support/pipeline.js';

// Issue 12 in embedded mode: every new query (one wiki, one user, bytes, pages, windows up to 24h)
// exactly equals an independent count of the recorded events sent (canaries and duplicates added),
// also after a SIGKILL halfway and a restart from the checkpoint.
describe('embedded pipeline: drill-downs, bytes, pages and windows on the recorded events', () => {
  const start = async (url: string, dataDir: string) => {
    const child = startChild('cmd/embedded/main.ts', {
      WIKIPEDIA_STREAM_URL: url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      DATA_DIR: dataDir,
      CHECKPOINT_INTERVAL_MS: '200',
      SSE_RECONNECT_MIN_MS: '20',
      SSE_RECONNECT_MAX_MS: '200',
    });
    return { child, port: await listeningPort(child) };
  };

  it('answers every new query exactly', async () => {
    const { url } = await startReplay();
    const { child, port } = await start(url, tempDataDir());
    await statsReaching(port, child, EXPECTED.total);
    await settledStats(port);
    await expectExploreExact(port, TEST_EVENTS);
  });

  it('stays exact through a SIGKILL halfway and a restart from the checkpoint', async () => {
    const { url } = await startReplay({ ratePerSec: 2_000 });
    const dataDir = tempDataDir();
    const first = await start(url, dataDir);
    await statsReaching(first.port, first.child, Math.floor(EXPECTED.total / 2));
    first.child.process.kill('SIGKILL');
    await first.child.exited;
    const second = await start(url, dataDir);
    await statsReaching(second.port, second.child, EXPECTED.total);
    await settledStats(second.port);
    await expectExploreExact(second.port, TEST_EVENTS);
  });
});
