/**
 * Local days, on the model of ./period: a day key `YYYYMMDD` names one
 * calendar day, and in a zone that day is the stretch of instants from the
 * first instant its wall clock shows 00:00 (or the jump past it) to where the
 * next day starts — 23, 24 or 25 hours. Arithmetic on keys (`addDays`,
 * `daysEnding`, `dayRange`) is calendar arithmetic and needs no zone; an
 * instant becomes a day, or a day instants, only through a zone. Pure code
 * (luxon only): safe to import from workflows.
 */
import { DateTime } from 'luxon';
import { usageError } from './errors';
import { periodContaining, tryParsePeriodKey, type Period } from './period';

/** A day as it appears in keys and periods. */
export const DAY_KEY = /^\d{8}$/;

/** The first year a day key may name (events before 1970 are not gflow's). */
const FIRST_YEAR = 1970;

/** The longest list of days one call makes: ten years. */
const MAX_DAYS = 3660;

/** The furthest `addDays` moves: a thousand years. */
const MAX_SHIFT = 365_250;

/** The instants of one local day: `[start, end)` in epoch ms, and its length in seconds (82,800, 86,400 or 90,000 around DST). */
export interface DayBounds {
  readonly start: number;
  readonly end: number;
  readonly seconds: number;
}

function calendarDay(day: string): DateTime | undefined {
  if (!DAY_KEY.test(day)) return undefined;
  const d = DateTime.fromObject({ year: Number(day.slice(0, 4)), month: Number(day.slice(4, 6)), day: Number(day.slice(6, 8)) }, { zone: 'utc' });
  return d.isValid && d.year >= FIRST_YEAR ? d : undefined;
}

function keyOf(d: DateTime): string {
  return d.toFormat('yyyyMMdd');
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 32)}…` : value) : String(value);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function checked(day: unknown, what: string): DateTime {
  const d = typeof day === 'string' ? calendarDay(day) : undefined;
  if (!d) throw usageError(`${what} ${quote(day)} is not valid: use a calendar day as YYYYMMDD, e.g. 20261124`);
  return d;
}


/** Whether `value` is a day key `YYYYMMDD` naming a real calendar day (1970 or later). */
export function isDayKey(value: unknown): value is string {
  return typeof value === 'string' && calendarDay(value) !== undefined;
}

/**
 * Check a day key names a real calendar day.
 * @throws UserError (exit 2) naming `what` and the accepted form.
 */
export function assertDayKey(value: unknown, what = 'day'): asserts value is string {
  checked(value, what);
}

/** The local day containing the instant, as a day period (key, first instant, end) of the zone. */
export function dayOf(instantMs: number, zone: string): Period {
  return periodContaining('day', instantMs, zone);
}

/** The key `YYYYMMDD` of the local day containing the instant in `zone`. */
export function dayKeyOf(instantMs: number, zone: string): string {
  return dayOf(instantMs, zone).key;
}

/**
 * The instants of day `day` in `zone`.
 * @throws UserError for a key that is no day, or a day the zone's clocks skip entirely.
 */
export function dayBounds(day: string, zone: string): DayBounds {
  checked(day, 'day');
  const parsed = tryParsePeriodKey('day', day, zone);
  if (!parsed.ok) throw usageError(`day ${day}: ${parsed.problem}`);
  const { start, end } = parsed.period;
  return { start, end, seconds: Math.round((end - start) / 1000) };
}

/** The first instant (epoch ms) of day `day` in `zone`. */
export function dayStart(day: string, zone: string): number {
  return dayBounds(day, zone).start;
}

/** The end (epoch ms, exclusive: the next day's first instant) of day `day` in `zone`. */
export function dayEnd(day: string, zone: string): number {
  return dayBounds(day, zone).end;
}

/** The day `n` calendar days after `day` (negative: before). Retention Dn of cohort C is active on `addDays(C, n)`. */
export function addDays(day: string, n: number): string {
  const d = checked(day, 'day');
  if (!Number.isSafeInteger(n) || Math.abs(n) > MAX_SHIFT) throw usageError(`a shift of ${quote(n)} days is not valid: use a whole number from -${MAX_SHIFT} to ${MAX_SHIFT}`);
  return keyOf(d.plus({ days: n }));
}

/** The days from `first` to `last`, both included, oldest first. */
export function dayRange(first: string, last: string): string[] {
  const a = checked(first, 'first day');
  const b = checked(last, 'last day');
  const n = Math.round(b.diff(a, 'days').days) + 1;
  if (n < 1) throw usageError(`the day range ${first}..${last} ends before it starts`);
  if (n > MAX_DAYS) throw usageError(`the day range ${first}..${last} has ${n} days: at most ${MAX_DAYS}`);
  return Array.from({ length: n }, (_, i) => keyOf(a.plus({ days: i })));
}

/** The `n` calendar days ending with `day` (inclusive), oldest first: WAU is `daysEnding(d, 7)`. */
export function daysEnding(day: string, n: number): string[] {
  checked(day, 'day');
  if (!Number.isInteger(n) || n < 1 || n > 366) throw usageError(`a day window of ${quote(n)} days is not valid: use 1 to 366`);
  return dayRange(addDays(day, -(n - 1)), day);
}

/** The ISO weekday of a day: 1 Monday … 7 Sunday. */
export function isoWeekday(day: string): number {
  return checked(day, 'day').weekday;
}
