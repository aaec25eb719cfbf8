/**
 * Longest SSE id we send back as `Last-Event-ID`. EventStreams ids are a JSON list of
 * topic/partition/offset (or timestamp) per datacenter, about 150 bytes; servers commonly refuse
 * request headers over 8 KiB, and a cursor we cannot send is as good as none.
 */
export const MAX_CURSOR_LENGTH = 2_048;

/**
 * Whether an SSE id can be sent back verbatim as `Last-Event-ID`. Printable ASCII only: fetch
 * refuses anything above U+00FF (`Cannot convert argument to a ByteString`), CR, LF and NUL, and
 * trims spaces at both ends; Latin-1 letters would go out as single bytes, not as the UTF-8 the
 * server sent, so they would not round-trip either. Empty means "no id".
 */
export function isUsableCursor(id: string | null | undefined): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_CURSOR_LENGTH &&
    /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(id)
  );
}

/** A short, log-safe description of an unusable id (it may be huge or hold control characters). */
export function describeUnusableCursor(id: string | null | undefined): string {
  if (typeof id !== 'string' || id.length === 0) return 'empty';
  if (id.length > MAX_CURSOR_LENGTH) return `${id.length} characters long (at most ${MAX_CURSOR_LENGTH})`;
  const bad = [...id].find((c) => !/[\x20-\x7e]/.test(c));
  if (bad !== undefined)
    return `holds U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return 'starts or ends with a space';
}
