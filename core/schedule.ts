/**
 * A task's schedule: once, every N seconds, or at a calendar point given in
 * the original gflow's `atExecute` grammar (`w1d2` = Mondays 02:00). Pure code: safe to
 * import from workflows (the Temporal import is type-only).
 */
import type { CalendarSpec, DayOfWeek } from '@temporalio/client';
import { usageError } from './errors';

export type PeriodUnit = 'month' | 'week' | 'day' | 'hour' | 'minute';

/**
 * The point inside the period at which a calendar task fires. Fields at or
 * above the period's own unit mean nothing and stay 0 (for `H5`, `hour` is 0
 * but the task fires every hour).
 */
export interface CalendarPoint {
  readonly dayOfMonth?: number;
  /** 1 = Monday .. 7 = Sunday, as in the original gflow. */
  readonly dayOfWeek?: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export interface OnceSchedule {
  readonly kind: 'once';
}
export interface IntervalSchedule {
  readonly kind: 'interval';
  readonly seconds: number;
}
export interface CalendarSchedule {
  readonly kind: 'calendar';
  readonly spec: string;
  readonly unit: PeriodUnit;
  readonly point: CalendarPoint;
}
export type TaskSchedule = OnceSchedule | IntervalSchedule | CalendarSchedule;

export const AT_EXECUTE_GRAMMAR =
  'atExecute is letter+number pairs from coarse to fine; the first letter is the period: ' +
  'm<day of month 1-28> or w<weekday 1=Mon..7=Sun>, then d<hour 0-23>, H<minute 0-59>, M<second 0-59>; ' +
  'finer fields left out are 0. Examples: w1d2 = Mondays 02:00, d2H30 = daily 02:30, ' +
  'm1d3 = the 1st of each month 03:00, H5 = hourly at minute 5, M30 = every minute at second 30.';

type PointField = 'dayOfMonth' | 'dayOfWeek' | 'hour' | 'minute' | 'second';

interface Letter {
  readonly unit: PeriodUnit;
  readonly field: PointField;
  /** Position from coarse (0) to fine (3); m and w share 0, so they exclude each other. */
  readonly rank: number;
  readonly min: number;
  readonly max: number;
  readonly meaning: string;
}

const LETTERS: Readonly<Record<string, Letter>> = {
  m: { unit: 'month', field: 'dayOfMonth', rank: 0, min: 1, max: 28, meaning: 'day of month' },
  w: { unit: 'week', field: 'dayOfWeek', rank: 0, min: 1, max: 7, meaning: 'weekday (1 = Monday, 7 = Sunday)' },
  d: { unit: 'day', field: 'hour', rank: 1, min: 0, max: 23, meaning: 'hour' },
  H: { unit: 'hour', field: 'minute', rank: 2, min: 0, max: 59, meaning: 'minute' },
  M: { unit: 'minute', field: 'second', rank: 3, min: 0, max: 59, meaning: 'second' },
};

function refuse(spec: string, problem: string): never {
  throw usageError(`invalid atExecute ${JSON.stringify(spec)}: ${problem}. ${AT_EXECUTE_GRAMMAR}`);
}

function letterOf(spec: string, char: string): Letter {
  const letter = Object.prototype.hasOwnProperty.call(LETTERS, char) ? LETTERS[char] : undefined;
  if (letter === undefined) refuse(spec, `unknown letter '${char}' (letters are m, w, d, H, M)`);
  return letter;
}

function valueOf(spec: string, char: string, letter: Letter, digits: string): number {
  if (digits === '') refuse(spec, `letter '${char}' has no number after it`);
  // Plain digits only: no sign, no decimals, so `d+2` and `d02.5` are refused rather than guessed at.
  if (!/^[0-9]+$/.test(digits)) refuse(spec, `'${char}${digits}': the number after '${char}' must be plain digits`);
  const value = Number(digits);
  if (char === 'm' && value >= 29 && value <= 31) {
    refuse(spec, `day of month ${value} does not occur in every month; use 1..28`);
  }
  if (value < letter.min || value > letter.max) {
    refuse(spec, `${letter.meaning} must be ${letter.min}..${letter.max}, got ${digits}`);
  }
  return value;
}

function checkOrder(spec: string, char: string, letter: Letter, previous: { char: string; letter: Letter } | undefined): void {
  if (previous === undefined || letter.rank > previous.letter.rank) return;
  if (char === previous.char) refuse(spec, `letter '${char}' appears twice`);
  if (letter.rank === 0 && previous.letter.rank === 0) refuse(spec, `m and w cannot both appear`);
  refuse(spec, `letters must go from coarse to fine (m or w, then d, H, M), but '${char}' comes after '${previous.char}'`);
}

/**
 * Parses the original gflow's `atExecute` grammar (see {@link AT_EXECUTE_GRAMMAR}).
 * @throws UserError naming the spec, what is wrong, and the grammar.
 */
export function parseAtExecute(spec: string): CalendarSchedule {
  if (typeof spec !== 'string') refuse(String(spec), 'it must be a string');
  if (spec === '') refuse(spec, 'it is empty');
  if (/\s/.test(spec)) refuse(spec, 'it contains spaces');
  if (!/^[A-Za-z]/.test(spec)) refuse(spec, 'it must start with a letter');
  const fields: Partial<Record<PointField, number>> = {};
  let first: Letter | undefined;
  let previous: { char: string; letter: Letter } | undefined;
  for (const [, char, digits] of spec.matchAll(/([A-Za-z])([^A-Za-z]*)/g)) {
    const letter = letterOf(spec, char);
    checkOrder(spec, char, letter, previous);
    fields[letter.field] = valueOf(spec, char, letter, digits);
    first ??= letter;
    previous = { char, letter };
  }
  if (first === undefined) return refuse(spec, 'it has no letters');
  const point: CalendarPoint = {
    ...(fields.dayOfMonth === undefined ? {} : { dayOfMonth: fields.dayOfMonth }),
    ...(fields.dayOfWeek === undefined ? {} : { dayOfWeek: fields.dayOfWeek }),
    hour: fields.hour ?? 0,
    minute: fields.minute ?? 0,
    second: fields.second ?? 0,
  };
  return { kind: 'calendar', spec, unit: first.unit, point };
}

const SCHEDULE_FORMS =
  'a task needs exactly one of: atExecute (a calendar point, e.g. "w1d2"), ' +
  'sleepExecute (a whole number of seconds > 0, e.g. 3600) or breakExecute: true (run once)';

/**
 * The schedule a task declares with the original gflow's fields; exactly one must be set.
 * @throws UserError saying what is accepted.
 */
export function scheduleOf(task: { atExecute?: string; sleepExecute?: number; breakExecute?: boolean }): TaskSchedule {
  const given = (['atExecute', 'sleepExecute', 'breakExecute'] as const).filter((k) => task[k] !== undefined);
  if (given.length !== 1) {
    throw usageError(`${SCHEDULE_FORMS}; got ${given.length === 0 ? 'none' : given.join(' and ')}`);
  }
  if (task.breakExecute !== undefined) {
    if (task.breakExecute !== true) throw usageError(`breakExecute must be true or left out; ${SCHEDULE_FORMS}`);
    return { kind: 'once' };
  }
  if (task.sleepExecute !== undefined) {
    const seconds = task.sleepExecute;
    if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) {
      throw usageError(`sleepExecute must be a whole number of seconds > 0, got ${String(seconds)}; ${SCHEDULE_FORMS}`);
    }
    return { kind: 'interval', seconds };
  }
  return parseAtExecute(task.atExecute as string);
}

// Temporal numbers weekdays from Sunday; the original gflow's 7 (Sunday) lands on index 0.
const TEMPORAL_DAYS: readonly DayOfWeek[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/**
 * The Temporal calendar spec that fires at the schedule's point in every period.
 * Every field is set explicitly: Temporal's defaults (second, minute and hour 0)
 * would otherwise turn `H5` into "daily at 00:05". `'*'` is the type's own
 * "every value" form (encoded as the full range).
 */
export function toTemporalCalendar(s: CalendarSchedule): CalendarSpec {
  const { unit, point } = s;
  return {
    second: point.second,
    minute: unit === 'minute' ? '*' : point.minute,
    hour: unit === 'minute' || unit === 'hour' ? '*' : point.hour,
    dayOfMonth: unit === 'month' && point.dayOfMonth !== undefined ? point.dayOfMonth : '*',
    month: '*',
    dayOfWeek: unit === 'week' && point.dayOfWeek !== undefined ? TEMPORAL_DAYS[point.dayOfWeek % 7] : '*',
    comment: s.spec,
  };
}

const WEEKDAY_NAMES = ['Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays', 'Sundays'];

const two = (n: number): string => String(n).padStart(2, '0');

function clock(p: CalendarPoint): string {
  return `${two(p.hour)}:${two(p.minute)}${p.second === 0 ? '' : `:${two(p.second)}`}`;
}

/** The schedule in words, e.g. "Mondays at 02:00 (UTC)", "every 3600 s", "hourly at :05". */
export function describeSchedule(s: TaskSchedule, tz: string): string {
  if (s.kind === 'once') return 'once';
  if (s.kind === 'interval') return `every ${s.seconds} s`;
  const p = s.point;
  switch (s.unit) {
    case 'month':
      return `monthly on day ${p.dayOfMonth ?? 1} at ${clock(p)} (${tz})`;
    case 'week':
      return `${WEEKDAY_NAMES[(p.dayOfWeek ?? 1) - 1]} at ${clock(p)} (${tz})`;
    case 'day':
      return `daily at ${clock(p)} (${tz})`;
    case 'hour':
      return `hourly at :${two(p.minute)}${p.second === 0 ? '' : `:${two(p.second)}`}`;
    case 'minute':
      return `every minute at :${two(p.second)} s`;
  }
}

/**
 * Seconds between two runs of a schedule (a month counts as its shortest,
 * 28 days): the original gflow derives a run's default time limit and gflow its
 * catch-up window from it. `undefined` for once-tasks.
 */
export function scheduleSpacingSeconds(s: TaskSchedule): number | undefined {
  if (s.kind === 'once') return undefined;
  if (s.kind === 'interval') return s.seconds;
  return { minute: 60, hour: 3600, day: 86_400, week: 604_800, month: 28 * 86_400 }[s.unit];
}
