import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait-for.js';
import { EventSizeGuard, SKIP_FACTOR, SKIPPED_EVENT_TYPE } from './event-size-guard.js';

const LIMIT = 200;

/**
 * Feeds `chunks` through a guard, exactly as split, then what it passes through the SSE parser
 * eventsource uses (a fetch answering those bytes): what the parser dispatches, in order.
 */
async function throughGuard(chunks: readonly string[]) {
  const guard = new EventSizeGuard(LIMIT);
  const passed: Buffer[] = [];
  let endless: ReturnType<EventSizeGuard['take']>['endless'];
  for (const chunk of chunks) {
    const taken = guard.take(Buffer.from(chunk));
    passed.push(...taken.pass);
    expect(guard.pendingBytes).toBeLessThanOrEqual(LIMIT);
    if (taken.endless) {
      endless = taken.endless;
      break;
    }
  }
  const seen: string[] = [];
  let ended = false;
  const es = new EventSource('http://guard.test/stream', {
    fetch: async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const bytes of passed) controller.enqueue(new Uint8Array(bytes));
            controller.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'text/event-stream' } },
      ),
  });
  es.onmessage = (m) => seen.push(`${m.lastEventId}:${m.data}`);
  es.addEventListener(SKIPPED_EVENT_TYPE, () => {
    const skipped = guard.takeSkipped();
    seen.push(`skipped(${skipped?.id ?? 'no id'}, ${skipped?.bytes})`);
  });
  es.onerror = () => {
    ended = true; // the stream ended: the library would reconnect
    es.close();
  };
  await waitFor(() => ended, { message: 'the parser reached the end of the bytes', timeoutMs: 5_000 });
  es.close();
  return { seen, endless };
}

const good = (id: string) => `id: ${id}\ndata: {"ok":"${id}"}\n\n`;
const data = (n: number) => `data: ${'x'.repeat(n)}\n`;
/** Splits `text` into pieces of `size` characters (ASCII here, so bytes). */
const pieces = (text: string, size: number) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('EventSizeGuard', () => {
  it('passes events within the limit as they come, whatever the chunks', async () => {
    const stream = `${good('a')}${good('b')}${good('c')}`;
    for (const size of [1, 2, 3, 7, stream.length]) {
      const { seen } = await throughGuard(pieces(stream, size));
      expect(seen, `chunks of ${size}`).toEqual(['a:{"ok":"a"}', 'b:{"ok":"b"}', 'c:{"ok":"c"}']);
    }
  });

  it.each([1, 5, 13, 64, 199])(
    'skips an oversized event in place and goes on (chunks of %i bytes)',
    async (size) => {
      const big = `event: message\nid: big\n${data(3 * LIMIT)}${data(50)}\n`;
      const { seen, endless } = await throughGuard(pieces(`${good('a')}${big}${good('c')}`, size));
      expect(endless).toBeUndefined();
      expect(seen).toEqual(['a:{"ok":"a"}', `skipped(big, ${big.length})`, 'c:{"ok":"c"}']);
    },
  );

  it('skips one cut right after a line end, one with its id after its data, and one with none', async () => {
    // The parser holds a whole data line when the limit is passed: closing it must not end it.
    const cutAfterLineEnd = [
      good('a'),
      `event: message\n${data(100)}`,
      data(100),
      data(LIMIT),
      `${data(5)}\n`,
    ];
    expect((await throughGuard([...cutAfterLineEnd, good('c')])).seen).toEqual([
      'a:{"ok":"a"}',
      `skipped(no id, ${cutAfterLineEnd.slice(1).join('').length})`,
      'c:{"ok":"c"}',
    ]);
    const idAfter = `${data(3 * LIMIT)}id: late\n\n`;
    expect((await throughGuard([good('a'), ...pieces(idAfter, 50), good('c')])).seen).toEqual([
      'a:{"ok":"a"}',
      `skipped(no id, ${idAfter.length})`,
      'c:{"ok":"c"}',
    ]);
  });

  it('skips two in a row, with CRLF framing and blank lines split across chunks', async () => {
    const crlf = (text: string) => text.replace(/\n/g, '\r\n');
    const big = crlf(`${data(2 * LIMIT)}\n`);
    const stream = crlf(good('a')) + big + big + crlf(good('d'));
    for (const size of [2, 3, 101]) {
      const { seen } = await throughGuard(pieces(stream, size));
      expect(seen, `chunks of ${size}`).toEqual([
        'a:{"ok":"a"}',
        `skipped(no id, ${big.length})`,
        `skipped(no id, ${big.length})`,
        'd:{"ok":"d"}',
      ]);
    }
  });

  it('skips one that starts in the chunk where it passes the limit (the parser holds none of it)', async () => {
    const big = `id: big\n${data(2 * LIMIT)}\n`;
    const { seen } = await throughGuard([
      `${good('a')}${big.slice(0, LIMIT + 10)}`,
      big.slice(LIMIT + 10),
      good('c'),
    ]);
    expect(seen).toEqual(['a:{"ok":"a"}', `skipped(big, ${big.length})`, 'c:{"ok":"c"}']);
  });

  it(`gives up on an event past SKIP_FACTOR x the limit without an end (the caller drops the connection)`, async () => {
    const endlessStart = `id: endless\n${data(SKIP_FACTOR * LIMIT)}`;
    const { seen, endless } = await throughGuard([good('a'), ...pieces(endlessStart, 64), good('never')]);
    expect(seen).toEqual(['a:{"ok":"a"}']);
    expect(endless).toMatchObject({ id: 'endless' });
    expect(endless?.bytes).toBeGreaterThan(SKIP_FACTOR * LIMIT);
  });
});
