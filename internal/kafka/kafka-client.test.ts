import { gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { inflateInline } from './kafka-client.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;
const codec = () => CompressionCodecs[CompressionTypes.GZIP]();

describe('gzip codec', () => {
  const payload = Buffer.from(JSON.stringify({ meta: { id: 'a1' }, title: 'Zürich ☃'.repeat(500) }));

  it('round-trips, inflating on the pool by default and inline after inflateInline', async () => {
    const compressed = await codec().compress({ buffer: payload });
    expect(await codec().decompress(compressed)).toEqual(payload);
    inflateInline();
    expect(await codec().decompress(compressed)).toEqual(payload);
    expect(await codec().decompress(gzipSync(payload, { level: 9 }))).toEqual(payload);
  });

  it('inline, a corrupt batch is a rejected promise (kafkajs awaits it), not a synchronous throw', async () => {
    inflateInline();
    let result: Promise<Buffer> | undefined;
    expect(() => {
      result = codec().decompress(Buffer.from('not gzip at all'));
    }).not.toThrow();
    await expect(result).rejects.toThrow(/incorrect header check|unknown compression/);
  });
});
