/**
 * The one Retry-After parser of the sidecar (the proxy's retries, the pollers' Nylas calls and the
 * span exporter all read it). RFC 9110 allows two forms: delay-seconds, a whole number of seconds,
 * and an HTTP-date. Anything else (a fraction, a sign, an ISO timestamp, an empty value) is not a
 * Retry-After and gives undefined, so the caller falls back to its own backoff instead of reading
 * "" as "retry now". No cap here: each caller bounds the wait by what it can afford.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** The preferred form: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** Obsolete, still to be accepted: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** Obsolete, still to be accepted: `Sun Nov  6 08:49:37 1994` (UTC, though it does not say). */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Retry-After in milliseconds from `now` (Unix ms); 0 for a date past; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = parseHttpDate(s, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/** An HTTP-date (RFC 9110 section 5.6.7) as Unix ms, or undefined. */
export function parseHttpDate(s: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(s);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(s);
  if (m) {
    // A two-digit year more than 50 years ahead is the previous century's (RFC 9110).
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, m[1]!, m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(s);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!.trim(), m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(
  year: number,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const mon = MONTHS.indexOf(month);
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const sec = Number(second);
  // A leap second (60) is allowed by the grammar: it counts as the next minute's first second.
  if (d < 1 || h > 23 || min > 59 || sec > 60) return undefined;
  const minuteStart = Date.UTC(year, mon, d, h, min);
  // 31 Feb would roll over into March: not a date.
  if (new Date(minuteStart).getUTCDate() !== d) return undefined;
  return minuteStart + sec * 1000;
}
