import { Writable } from 'node:stream';
import { type Level, pino } from 'pino';

/** A log line as pino writes it: its level number, message and fields. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** pino writing NDJSON lines into an array, so a test can check what was logged and at which level. */
export function capturingLogger(level: Level = 'debug') {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}
