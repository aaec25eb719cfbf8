import { describe, expect, it } from 'vitest';
import { SHARED_EVENTS_DIR } from '../../test/support/paths.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { eventTimeMs } from './event-time.js';

describe('eventTimeMs', () => {
  it('is Date.parse for every recorded event', () => {
    const times = readRecordedEvents([SHARED_EVENTS_DIR]).map((line) => JSON.parse(line).meta.dt as string);
    expect(times.length).toBe(4122);
    for (const dt of times) expect(eventTimeMs(dt), dt).toBe(Date.parse(dt));
  });

  it('is Date.parse for strings near the fast shape, valid or not', () => {
    const cases = [
      '2026-07-17T12:38:45.384Z',
      '2026-07-17T12:38:45Z',
      '2024-02-29T00:00:00Z', // leap day
      '2023-02-29T00:00:00Z', // no such day
      '1900-02-29T00:00:00Z',
      '2000-02-29T23:59:59.999Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-07-00T00:00:00Z',
      '2026-07-17T24:00:00Z',
      '2026-07-17T23:60:00Z',
      '2026-07-17T23:59:60Z', // leap second
      '0099-01-01T00:00:00Z', // Date.UTC would read the year as 1999; Date.parse does not
      '0000-01-01T00:00:00Z',
      '0004-02-29T12:00:00.001Z',
      '0100-01-01T00:00:00Z',
      '2026-07-17T12:38:45.38Z',
      '2026-07-17T12:38:45.3845Z',
      '2026-07-17T12:38:45+02:00',
      '2026-07-17T12:38:45.384+00:00',
      '2026-07-17 12:38:45.384Z',
      '2026-07-17T12:38:4a.384Z',
      '2026-07-17T-1:38:45.384Z',
      '2026-07-17T12:38:45.-84Z',
      '2026/07/17T12:38:45.384Z',
      '2026-07-17T12:38:45.384z',
      '',
      'not a date at all, 24 c',
    ];
    for (const dt of cases) expect(eventTimeMs(dt), dt).toBe(Date.parse(dt));
  });

  it('is Date.parse across a spread of instants', () => {
    for (let ms = Date.UTC(1970, 0, 1); ms < Date.UTC(2100, 0, 1); ms += 86_399_937 * 7) {
      const long = new Date(ms).toISOString();
      const short = long.replace(/\.\d{3}Z$/, 'Z');
      expect(eventTimeMs(long)).toBe(Date.parse(long));
      expect(eventTimeMs(short)).toBe(Date.parse(short));
    }
  });
});
