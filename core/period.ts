/**
 * The period a run computes: a month, ISO week, day, hour or minute of wall
 * clock time in an IANA zone, with a key such as `20150420`. Pure code (luxon
 * only): safe to import from workflows.
 *
 * Periods follow the wall clock, and every key names exactly one period:
 * a period starts at the first instant the zone's clock shows its wall start
 * (or the first instant after, when the clocks skip it) and ends where the
 * next key starts. So a day can be 23 or 25 hours, the hour that clocks skip
 * in spring does not exist, and in autumn the repeated hour is one 2-hour
 * period rather than two periods sharing a key.
 */
import { DateTime, IANAZone } from 'luxon';
import type { DurationLikeObject } from 'luxon';
import { usageError } from './errors';
import type { PeriodUnit } from './schedule';

export type PeriodKind = PeriodUnit | 'instant';

export interface Period {
  readonly unit: PeriodKind;
  readonly key: string;
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  /** IANA zone the key is read in. */
  readonly zone: string;
}

export const PERIOD_KEY_FORMS: Record<PeriodUnit, string> = {
  month: 'YYYYMM',
  week: 'YYYYWW0',
  day: 'YYYYMMDD',
  hour: 'YYYYMMDDHH',
  minute: 'YYYYMMDDHHMM',
};

/** One example key per unit, for messages. */
export const PERIOD_KEY_EXAMPLES: Record<PeriodUnit, string> = {
  month: '201504',
  week: '2015170',
  day: '20150420',
  hour: '2015042013',
  minute: '201504201305',
};

const UNITS: readonly PeriodUnit[] = ['month', 'week', 'day', 'hour', 'minute'];
const STEP: Record<PeriodUnit, DurationLikeObject> = {
  month: { months: 1 },
  week: { weeks: 1 },
  day: { days: 1 },
  hour: { hours: 1 },
  minute: { minutes: 1 },
};
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_MS = 86_400_000;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const aUnit = (unit: PeriodUnit): string => `${unit === 'hour' ? 'an' : 'a'} ${unit}`;

function checkZone(zone: string): void {
  if (!IANAZone.isValidZone(zone)) throw usageError(`unknown time zone ${JSON.stringify(zone)}: use an IANA name such as UTC or Europe/Berlin`);
}

function checkInstant(ms: number): void {
  if (!Number.isFinite(ms)) throw usageError(`not a point in time: ${String(ms)}`);
}

function offsetAt(ms: number, zone: string): number {
  return Math.round(DateTime.fromMillis(ms, { zone }).offset * 60_000);
}

/** The wall clock of an instant, as a zone-less (UTC) DateTime so that arithmetic on it is pure calendar arithmetic. */
function wallOf(ms: number, zone: string): DateTime {
  return DateTime.fromMillis(ms, { zone }).setZone('utc', { keepLocalTime: true });
}

/**
 * The first instant at which the zone's clock shows `wall` or later. When the
 * clock shows `wall` twice (autumn), the first time; when it skips it (spring),
 * the instant of the jump.
 */
function firstInstantAtOrAfter(wall: number, zone: string): number {
  const offsets = [...new Set([offsetAt(wall - DAY_MS, zone), offsetAt(wall, zone), offsetAt(wall + DAY_MS, zone)])];
  const candidates = offsets.map((o) => wall - o);
  const exact = candidates.filter((t) => wall - t === offsetAt(t, zone));
  if (exact.length > 0) return Math.min(...exact);
  // In a gap: bisect for the jump, keeping wall(lo) < wall <= wall(hi).
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid + offsetAt(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

function keyOf(unit: PeriodUnit, w: DateTime): string {
  if (unit === 'week') return `${pad(w.weekYear, 4)}${pad(w.weekNumber)}0`;
  const full = `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}${pad(w.hour)}${pad(w.minute)}`;
  return full.slice(0, PERIOD_KEY_FORMS[unit].length);
}

interface Cell {
  readonly wall: DateTime;
  readonly period: Period;
}

/** The period whose wall clock starts at `wall` (which must already be a unit boundary). Empty if the clocks skip all of it. */
function cellAt(unit: PeriodUnit, wall: DateTime, zone: string): Cell {
  const start = firstInstantAtOrAfter(wall.toMillis(), zone);
  const end = firstInstantAtOrAfter(wall.plus(STEP[unit]).toMillis(), zone);
  return { wall, period: { unit, key: keyOf(unit, wall), start, end, zone } };
}

/** The period of `unit` that contains the instant. */
export function periodContaining(unit: PeriodUnit, instantMs: number, zone: string): Period {
  checkZone(zone);
  checkInstant(instantMs);
  let cell = cellAt(unit, wallOf(instantMs, zone).startOf(unit), zone);
  // After clocks go back, the instant may lie past the floor's own period, in a later key's stretch.
  while (instantMs >= cell.period.end) cell = cellAt(unit, cell.wall.plus(STEP[unit]), zone);
  return cell.period;
}

/** The period just before `p` (same unit and zone). */
export function previousPeriod(p: Period): Period {
  return periodContaining(calendarUnit(p), p.start - 1, p.zone);
}

/** The period just after `p` (same unit and zone). Not for instant periods. */
export function nextPeriod(p: Period): Period {
  return periodContaining(calendarUnit(p), p.end, p.zone);
}

function calendarUnit(p: Period): PeriodUnit {
  if (p.unit === 'instant') throw new Error(`instant period ${p.key} has no neighbours`);
  return p.unit;
}

/**
 * The period a calendar task's run computes when fired at `fireTimeMs`: the
 * one that just ended. `d2H30` fired 2015-04-21 02:30 computes day 20150420;
 * `w1d2` the previous ISO week; `m1d3` the previous month; `H5` at 13:05 hour 12.
 */
export function periodForFireTime(unit: PeriodUnit, fireTimeMs: number, zone: string): Period {
  return previousPeriod(periodContaining(unit, fireTimeMs, zone));
}

/**
 * The period of a once/interval run, which computes "now": unit 'instant',
 * key YYYYMMDDHHmmss in the zone, start = the instant floored to the second
 * (so the key gives back the start), end = start + 1 s.
 */
export function instantPeriod(instantMs: number, zone: string): Period {
  checkZone(zone);
  checkInstant(instantMs);
  const start = Math.floor(instantMs / 1000) * 1000;
  const w = wallOf(start, zone);
  const key = `${keyOf('minute', w)}${pad(w.second)}`;
  return { unit: 'instant', key, start, end: start + 1000, zone };
}

type Parsed = { readonly ok: true; readonly period: Period } | { readonly ok: false; readonly problem: string };

function unitOfForm(key: string): PeriodUnit | undefined {
  return UNITS.find((u) => PERIOD_KEY_FORMS[u].length === key.length);
}

function shapeProblem(unit: PeriodUnit, key: string): string | undefined {
  if (!/^[0-9]+$/.test(key)) return `${JSON.stringify(key)} is not all digits`;
  const form = PERIOD_KEY_FORMS[unit];
  if (key.length !== form.length) {
    const other = unitOfForm(key);
    const what = other === undefined ? `has ${key.length} digits` : `is ${aUnit(other)} (${PERIOD_KEY_FORMS[other]})`;
    return `${key} ${what}, not ${aUnit(unit)}`;
  }
  if (unit === 'week' && !key.endsWith('0')) return `${key}: a week key ends in 0 (YYYYWW0)`;
  return undefined;
}

/** The wall start a well-shaped key names, or what is impossible about it. */
function wallOfKey(unit: PeriodUnit, key: string): DateTime | string {
  const n = (from: number, to: number): number => Number(key.slice(from, to));
  const year = n(0, 4);
  if (year < 1) return `year ${key.slice(0, 4)} does not exist`;
  if (unit === 'week') {
    const week = n(4, 6);
    const weeks = DateTime.fromObject({ weekYear: year, weekNumber: 1, weekday: 1 }, { zone: 'utc' }).weeksInWeekYear;
    if (week < 1 || week > weeks) return `${year} has ISO weeks 01..${weeks}, not ${key.slice(4, 6)}`;
    return DateTime.fromObject({ weekYear: year, weekNumber: week, weekday: 1 }, { zone: 'utc' });
  }
  const month = n(4, 6);
  if (month < 1 || month > 12) return `month ${key.slice(4, 6)} does not exist (01..12)`;
  if (unit === 'month') return DateTime.utc(year, month);
  const day = n(6, 8);
  const days = DateTime.utc(year, month).daysInMonth ?? 31;
  if (day < 1 || day > days) return `${MONTH_NAMES[month - 1]} ${year} has days 01..${days}, not ${key.slice(6, 8)}`;
  const hour = unit === 'day' ? 0 : n(8, 10);
  if (hour > 23) return `hour ${key.slice(8, 10)} does not exist (00..23)`;
  const minute = unit === 'minute' ? n(10, 12) : 0;
  if (minute > 59) return `minute ${key.slice(10, 12)} does not exist (00..59)`;
  return DateTime.utc(year, month, day, hour, minute);
}

/**
 * Reads a period key of `unit` in `zone`, or says what is wrong with it (in
 * words meant to be embedded in a larger message). Never throws for bad keys.
 */
export function tryParsePeriodKey(unit: PeriodUnit, key: string, zone: string): Parsed {
  checkZone(zone);
  const shape = shapeProblem(unit, key);
  if (shape !== undefined) return { ok: false, problem: shape };
  const wall = wallOfKey(unit, key);
  if (typeof wall === 'string') return { ok: false, problem: `${key}: ${wall}` };
  const { period } = cellAt(unit, wall, zone);
  if (period.start === period.end) return { ok: false, problem: `${key} does not exist in ${zone} (the clocks skip it)` };
  return { ok: true, period };
}

/** The accepted key form of a unit, with an example, for messages. */
export function periodKeyHint(unit: PeriodUnit): string {
  return `${PERIOD_KEY_FORMS[unit]} (e.g. ${PERIOD_KEY_EXAMPLES[unit]})`;
}

/**
 * Reads a period key such as `20150420` (day) or `2015170` (ISO week 17 of 2015).
 * @throws UserError naming the value, the unit and the accepted form.
 */
export function parsePeriodKey(unit: PeriodUnit, key: string, zone: string): Period {
  const parsed = tryParsePeriodKey(unit, key, zone);
  if (parsed.ok) return parsed.period;
  throw usageError(`invalid ${unit} period ${JSON.stringify(key)}: ${parsed.problem}; ${aUnit(unit)} is written ${periodKeyHint(unit)}`);
}

/** The period for people: "2015-04", "2015-W17", "2015-04-20", "2015-04-20 13:00", "2015-04-20 13:05". */
export function periodLabel(p: Period): string {
  const k = p.key;
  const date = `${k.slice(0, 4)}-${k.slice(4, 6)}-${k.slice(6, 8)}`;
  switch (p.unit) {
    case 'month':
      return `${k.slice(0, 4)}-${k.slice(4, 6)}`;
    case 'week':
      return `${k.slice(0, 4)}-W${k.slice(4, 6)}`;
    case 'day':
      return date;
    case 'hour':
      return `${date} ${k.slice(8, 10)}:00`;
    case 'minute':
      return `${date} ${k.slice(8, 10)}:${k.slice(10, 12)}`;
    case 'instant':
      return `${date} ${k.slice(8, 10)}:${k.slice(10, 12)}:${k.slice(12, 14)}`;
  }
}
