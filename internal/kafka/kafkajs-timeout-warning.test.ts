import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('./kafkajs-timeout-warning.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
// Node prints TimeoutNegativeWarning since 23; on 22 a negative timeout is silent.
const NODE_WARNS = Number(process.versions.node.split('.')[0]) >= 23;

/**
 * The warning lines a fresh Node process prints (its stderr is what a user's logs get) when
 * kafkajs's own request queue schedules its negative timeout, our code sets a negative timeout
 * too, and something emits an unrelated warning.
 */
function run(withPatch: boolean): { warnings: string[]; state: QueueState } {
  const script = `
    import { createRequire } from 'node:module';
    import { avoidKafkajsNegativeTimeout } from ${JSON.stringify(MODULE)};
    const applied = ${withPatch} ? avoidKafkajsNegativeTimeout() : false;
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js');
    const noop = () => {};
    const logger = { debug: noop, info: noop, warn: noop, error: noop };
    const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, clientId: 'test',
      broker: 'localhost:9092', logger });
    queue.scheduleCheckPendingRequests(); // nothing pending, not throttled: kafkajs's negative delay
    const scheduled = queue.throttleCheckTimeoutId !== null;
    const throttledUntil = queue.throttledUntil;
    // kafkajs's check still runs (it reschedules itself while the queue lives).
    const checked = await new Promise((resolve) => {
      const check = queue.checkPendingRequests.bind(queue);
      queue.checkPendingRequests = () => { check(); resolve(true); };
    });
    queue.destroy();
    setTimeout(noop, -7); // ours
    process.emitWarning('something else', 'ExampleWarning');
    console.log(JSON.stringify({ applied, scheduled, throttledUntil, checked }));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(child.status, child.stderr).toBe(0);
  return {
    warnings: child.stderr
      .split('\n')
      .filter((line) => /^\(node:\d+\) \w+Warning:/.test(line))
      .map((line) => line.replace(/^\(node:\d+\) /, '')),
    state: JSON.parse(child.stdout) as QueueState,
  };
}

interface QueueState {
  applied: boolean;
  scheduled: boolean;
  throttledUntil: number;
  checked: boolean;
}

describe('avoidKafkajsNegativeTimeout', () => {
  it('without it, Node 24 prints a TimeoutNegativeWarning for kafkajs’s request queue, not ours', () => {
    const { warnings, state } = run(false);
    // Node warns once per process: kafkajs's warning uses it up and hides our real one.
    expect(warnings).toEqual([
      ...(NODE_WARNS
        ? [expect.stringMatching(/^TimeoutNegativeWarning: -\d{10,} is a negative number\./)]
        : []),
      'ExampleWarning: something else',
    ]);
    expect(state).toEqual({ applied: false, scheduled: true, throttledUntil: -1, checked: true });
  });

  it('with it, kafkajs sets no negative timeout and behaves the same; other warnings still print', () => {
    const { warnings, state } = run(true);
    expect(warnings).toEqual([
      ...(NODE_WARNS ? ['TimeoutNegativeWarning: -7 is a negative number.'] : []),
      'ExampleWarning: something else',
    ]);
    expect(state).toEqual({ applied: true, scheduled: true, throttledUntil: -1, checked: true });
  });
});
