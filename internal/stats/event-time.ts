/**
 * `meta.dt` as epoch milliseconds: the same number as `Date.parse(dt)`, for every string.
 *
 * Why not `Date.parse` alone: it is the largest single cost of planning an event (about 0.23 µs of
 * ~2.2 µs per event, this machine). Wikimedia writes one shape, `2026-07-17T12:38:45.384Z` (or
 * without the milliseconds); that shape is read digit by digit here. Anything else (another
 * offset, more fraction digits, a day the month does not have, a leap second) goes to
 * `Date.parse`, so the result never differs from it.
 */
export function eventTimeMs(dt: string): number {
  const n = dt.length;
  if ((n !== 20 && n !== 24) || dt.charCodeAt(n - 1) !== Z) return Date.parse(dt);
  if (
    dt.charCodeAt(4) !== DASH ||
    dt.charCodeAt(7) !== DASH ||
    dt.charCodeAt(10) !== T ||
    dt.charCodeAt(13) !== COLON ||
    dt.charCodeAt(16) !== COLON ||
    (n === 24 && dt.charCodeAt(19) !== DOT)
  ) {
    return Date.parse(dt);
  }
  const year = digits(dt, 0, 4);
  const month = digits(dt, 5, 2);
  const day = digits(dt, 8, 2);
  const hour = digits(dt, 11, 2);
  const minute = digits(dt, 14, 2);
  const second = digits(dt, 17, 2);
  const ms = n === 24 ? digits(dt, 20, 3) : 0;
  if (
    (year | hour | minute | second | ms) < 0 || // a non-digit (see digits)
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return Date.parse(dt);
  }
  return ((daysSinceEpoch(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}

const Z = 0x5a;
const T = 0x54;
const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number in `count` characters from `at`; -1 if any is not a digit 0-9. */
function digits(s: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar, as Date.UTC counts them
 * (H. Hinnant's days_from_civil: plain integer arithmetic, several times cheaper than Date.UTC).
 */
function daysSinceEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS[month - 1] as number;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}
