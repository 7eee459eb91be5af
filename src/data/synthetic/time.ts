/**
 * Calendar arithmetic in unix seconds (UTC). Billing renews on the same day of month as the
 * subscription anchor, clamped to short months, so months are computed with civil-date
 * conversions (days ⇄ y/m/d) instead of a fixed 30-day period.
 */

/** Seconds in a day. */
export const DAY = 86_400;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Inverse of {@link daysFromCivil}: [year, month 1–12, day 1–31]. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** `ts` plus `months` calendar months: same time of day, day of month clamped to the month's length. */
export function addMonths(ts: number, months: number): number {
  const z = Math.floor(ts / DAY);
  const sec = ts - z * DAY;
  const [y, m, d] = civilFromDays(z);
  const m0 = m - 1 + months;
  const y2 = y + Math.floor(m0 / 12);
  const m2 = (((m0 % 12) + 12) % 12) + 1;
  const d2 = Math.min(d, daysInMonth(y2, m2));
  return daysFromCivil(y2, m2, d2) * DAY + sec;
}

/** Calendar year of a unix timestamp. */
export function yearOf(ts: number): number {
  return civilFromDays(Math.floor(ts / DAY))[0];
}

/** Unix seconds of UTC midnight of an ISO date "YYYY-MM-DD"; throws on anything else. */
export function parseIsoDate(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new Error(`expected an ISO date "YYYY-MM-DD", got ${JSON.stringify(s)}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw new Error(`not a calendar date: ${JSON.stringify(s)}`);
  return daysFromCivil(y, mo, d) * DAY;
}
