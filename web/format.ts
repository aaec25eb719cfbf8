// Number and time formatting for the dashboard. Pure functions: unit-tested without a browser.

const counts = new Intl.NumberFormat('en-US');

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** Events per second: one decimal below 10, whole numbers above. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  return perSecond < 10 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** A duration for "behind by": "0.4 s", "12 s", "4 min 3 s", "3 h 12 min", "412 d". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${formatCount(Math.floor(h / 24))} d`;
}

/** The smallest 1, 2 or 5 times a power of ten at or above `value` (a tidy axis maximum). */
export function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

/**
 * `/stats` maps as entries, largest first, ties by name: the server's order. JSON.parse moves
 * integer-like keys (a user named "1234") to the front of an object, so the order is restored here.
 */
export function sortedEntries(map: Record<string, number>): Array<[string, number]> {
  return Object.entries(map).sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
}

/** Bytes in SI units for people: "512 B", "12.3 kB", "4.5 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0
    ? `${value} ${units[0]}`
    : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
