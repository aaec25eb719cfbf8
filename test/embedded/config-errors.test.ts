import { describe, expect, it } from 'vitest';
import { startChild } from '../support/child-process.js';

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
  ])('%s=%j stops the embedded binary with one line naming it, exit 2', async (name, value, message) => {
    const child = startChild('cmd/embedded/main.ts', {
      [name]: value,
      HTTP_PORT: name === 'HTTP_PORT' ? value : '0',
    });
    expect(await child.exited).toBe(2);
    const output = child.output().trim();
    expect(output).toContain(message);
    expect(output.split('\n')).toHaveLength(1); // one line, no stack trace
  });
});
