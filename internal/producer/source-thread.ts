// The producer's source thread (a worker_thread started by ThreadedSource): reads and validates
// the Wikimedia stream (the same SSE client and schema as in one thread) and
// hands the events to the main thread in order, one message per turn of its event loop. The
// cursor it resumes from is the last event it handed over, as ProducerPipeline's is the last it
// queued: every event handed over is queued there, in order.
import { parentPort, workerData } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../log/logger.js';
import { WikimediaSource } from '../wikimedia/sse-source.js';
import type {
  FromSourceThread,
  HandedOver,
  SourceThreadData,
  ToSourceThread,
} from './source-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('source-thread.ts runs as a worker thread of the producer');
const data = workerData as SourceThreadData;
const log = createLogger({
  level: data.log.level as LevelWithSilent,
  pretty: data.log.pretty,
  name: 'wikistream-producer',
}).child({ component: 'source', thread: 'source' });

let cursor: string | undefined;
let pending: HandedOver[] = [];
/** The valid events' ids and payloads, in order, until the flush encodes them. */
let texts: string[] = [];
const post = (message: FromSourceThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/**
 * Events this thread may still hand over: PRODUCER_MAX_IN_FLIGHT minus what the main thread holds
 * unacknowledged. At 0 it closes the connection in the same turn, as the in-process source is
 * paused in the handler that fills the buffer, so the bound holds exactly across threads; it
 * reconnects (after the last event handed over) once there is room and the producer has not
 * paused the stream itself.
 */
let credit = 0;
let pausedByProducer = false;

function handOver(item: HandedOver, sseId: string): void {
  cursor = sseId;
  if (pending.length === 0) setImmediate(flush);
  pending.push(item);
  if (--credit <= 0) source.pause();
}

function resumeIfRoom(): void {
  if (credit > 0 && !pausedByProducer) source.resume();
}

function flush(): void {
  if (pending.length === 0) return;
  let size = 0;
  for (const text of texts) size += Buffer.byteLength(text);
  const bytes = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer, so it can be transferred
  const ends = new Int32Array(texts.length);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at += bytes.write(texts[i] as string, at);
    ends[i] = at;
  }
  const events = pending;
  pending = [];
  texts = [];
  post(
    { type: 'events', events, bytes: bytes.buffer as ArrayBuffer, ends, counters: { ...source.counters } },
    [bytes.buffer as ArrayBuffer, ends.buffer as ArrayBuffer],
  );
}

const source = new WikimediaSource(
  data.options,
  {
    onEvent: (event, raw, sseId) => {
      texts.push(event.meta.id, raw);
      handOver(['event', sseId], sseId);
    },
    onInvalid: (rejected, raw, sseId) => handOver(['invalid', rejected, raw, sseId], sseId),
    cursor: () => cursor,
  },
  log,
);

setInterval(() => post({ type: 'counters', counters: { ...source.counters } }), 1_000).unref();

port.on('message', (message: ToSourceThread) => {
  switch (message.type) {
    case 'start':
      cursor = message.cursor;
      credit = message.credit;
      source.start();
      return;
    case 'credit':
      credit += message.count;
      resumeIfRoom();
      return;
    case 'pause':
      pausedByProducer = true;
      source.pause();
      return;
    case 'resume':
      pausedByProducer = false;
      resumeIfRoom();
      return;
    case 'stop':
      source.stop();
      flush();
      post({ type: 'stopped', counters: { ...source.counters } });
      port.close();
      return;
  }
});
