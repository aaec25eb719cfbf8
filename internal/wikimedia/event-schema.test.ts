import { describe, expect, it } from 'vitest';
import { SHARED_EVENTS_DIR } from '../../test/support/paths.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import {
  isCanary,
  MAX_KEY_CHARS,
  parseRecentChange,
  recentChangeSchema,
  validRecentChange,
} from './event-schema.js';

const valid = {
  meta: {
    id: 'a1',
    dt: '2026-05-05T11:17:40.795Z',
    domain: 'en.wikipedia.org',
    stream: 'mediawiki.recentchange',
  },
  type: 'edit',
  user: 'Alice',
  bot: false,
  title: 'Main Page',
  wiki: 'enwiki',
  namespace: 0,
  comment: 'kept in the raw payload, not needed here',
};

describe('parseRecentChange', () => {
  it('accepts a recentchange event, second-precision dates included', () => {
    const result = parseRecentChange(JSON.stringify(valid), 10_000);
    expect(result.ok && result.event.meta.domain).toBe('en.wikipedia.org');
    const older = { ...valid, meta: { ...valid.meta, dt: '2022-12-11T04:27:02Z' } };
    expect(parseRecentChange(JSON.stringify(older), 10_000).ok).toBe(true);
  });

  it('tolerates a wrongly typed optional field by dropping it, not the event', () => {
    const result = parseRecentChange(JSON.stringify({ ...valid, user: 42, title: [] }), 10_000);
    expect(result.ok).toBe(true);
    if (result.ok) expect([result.event.user, result.event.title]).toEqual([undefined, undefined]);
  });

  it.each([['true'], ['yes'], [1], [null]])(
    'rejects bot=%j as a schema error: it would be counted as a human otherwise',
    (bot) => {
      const result = parseRecentChange(JSON.stringify({ ...valid, bot }), 10_000);
      expect(result).toMatchObject({ ok: false, reason: 'schema', id: 'a1' });
      if (!result.ok) expect(result.detail).toMatch(/^bot: /);
    },
  );

  it('counts an event without bot as a human, as before', () => {
    const { bot: _bot, ...withoutBot } = valid;
    const result = parseRecentChange(JSON.stringify(withoutBot), 10_000);
    expect(result.ok && result.event.bot).toBe(undefined);
  });

  it('folds meta.domain to lower case: domains are DNS names', () => {
    const result = parseRecentChange(
      JSON.stringify({ ...valid, meta: { ...valid.meta, domain: 'EN.Wikipedia.ORG' } }),
      10_000,
    );
    expect(result.ok && result.event.meta.domain).toBe('en.wikipedia.org');
    const canary = parseRecentChange(
      JSON.stringify({ ...valid, meta: { ...valid.meta, domain: 'Canary' } }),
      10_000,
    );
    expect(canary.ok && isCanary(canary.event)).toBe(true);
  });

  it.each([
    ['not json', 'invalid_json'],
    [JSON.stringify({ type: 'edit' }), 'schema'],
    [JSON.stringify({ ...valid, meta: { ...valid.meta, dt: 'yesterday' } }), 'schema'],
    [JSON.stringify({ ...valid, meta: { ...valid.meta, domain: 7 } }), 'schema'],
    [JSON.stringify({ ...valid, comment: 'x'.repeat(20_000) }), 'too_large'],
  ])('rejects %j with reason %s, keeping the id when there is one', (raw, reason) => {
    const result = parseRecentChange(raw, 10_000);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail).not.toBe('');
    }
  });

  it('names the event id of a schema failure so the log can point at it', () => {
    const result = parseRecentChange(
      JSON.stringify({ ...valid, meta: { ...valid.meta, dt: 'nope' } }),
      10_000,
    );
    expect(result.ok === false && result.id).toBe('a1');
  });

  it.each(['user', 'title', 'type'])(
    'rejects a %s longer than MAX_KEY_CHARS (a key no store could keep), naming the field',
    (field) => {
      const at = parseRecentChange(JSON.stringify({ ...valid, [field]: 'é'.repeat(MAX_KEY_CHARS) }), 1e6);
      expect(at.ok).toBe(true);
      const over = parseRecentChange(
        JSON.stringify({ ...valid, [field]: 'x'.repeat(MAX_KEY_CHARS + 1) }),
        1e6,
      );
      expect(over).toEqual({
        ok: false,
        reason: 'schema',
        detail: `${field}: longer than ${MAX_KEY_CHARS} characters`,
        id: 'a1',
      });
    },
  );

  it('recognises canaries by domain', () => {
    const result = parseRecentChange(
      JSON.stringify({ ...valid, meta: { ...valid.meta, domain: 'canary' } }),
      10_000,
    );
    expect(result.ok && isCanary(result.event)).toBe(true);
  });
});

describe('validRecentChange (the compiled schema every record goes through)', () => {
  const same = (json: unknown) => {
    const compiled = validRecentChange.safeParse(json);
    const schema = recentChangeSchema.safeParse(json);
    expect(compiled.success).toBe(schema.success);
    if (compiled.success && schema.success) expect(compiled.data).toStrictEqual(schema.data);
    else expect(compiled.error?.issues).toStrictEqual(schema.error?.issues);
  };

  it('gives what the schema gives for every recorded event', () => {
    const events = readRecordedEvents([SHARED_EVENTS_DIR]);
    expect(events.length).toBeGreaterThan(0);
    for (const line of events) same(JSON.parse(line));
  });

  // Hostile values in each field the schema reads: every one must be accepted, dropped or
  // rejected exactly as the schema does it.
  const hostile: unknown[] = [
    undefined,
    null,
    true,
    'true',
    '',
    'EN.Wikipedia.ORG',
    'x'.repeat(201),
    'x'.repeat(501),
    'x'.repeat(1_001),
    '2026-05-05T11:17:40.795+02:00',
    '2026-05-05',
    0,
    -1,
    1.5,
    2 ** 31,
    2 ** 31 + 1,
    2 ** 53,
    [],
    {},
    { old: 1, new: -1 },
    { old: '1', new: 2 },
  ];
  const paths = [
    ['meta'],
    ['meta', 'id'],
    ['meta', 'dt'],
    ['meta', 'domain'],
    ['type'],
    ['user'],
    ['bot'],
    ['wiki'],
    ['title'],
    ['namespace'],
    ['length'],
    ['length', 'old'],
    ['length', 'new'],
  ];
  it.each(paths.map((p) => [p.join('.'), p]))('gives what the schema gives for hostile %s', (_, path) => {
    for (const value of hostile) {
      const event: Record<string, unknown> = structuredClone({ ...valid, length: { old: 10, new: 20 } });
      let at = event;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
      const last = path[path.length - 1] as string;
      if (value === undefined) delete at[last];
      else at[last] = value;
      same(event);
    }
  });

  it.each([
    ['a top-level array', '[]'],
    ['null', 'null'],
    ['a string', '"event"'],
    ['an own __proto__ key', JSON.stringify(valid).replace('{', '{"__proto__":{"bot":"x"},')],
  ])('gives what the schema gives for %s', (_, raw) => same(JSON.parse(raw)));
});
