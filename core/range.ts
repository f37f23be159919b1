/**
 * Rerun date ranges, the original gflow's `-d` option: one period key, or `first,last`
 * (inclusive), in the task's period unit. Pure code: safe to import from workflows.
 */
import { usageError } from './errors';
import { nextPeriod, PERIOD_KEY_EXAMPLES, PERIOD_KEY_FORMS, tryParsePeriodKey } from './period';
import type { Period } from './period';
import type { PeriodUnit } from './schedule';

export interface PeriodRange {
  readonly unit: PeriodUnit;
  readonly first: Period;
  readonly last: Period;
  /** Number of periods from first to last, both included. */
  readonly count: number;
}

const DEFAULT_MAX_PERIODS = 400;

const RANGE_EXAMPLES: Record<PeriodUnit, string> = {
  month: '201501,201512',
  week: '2015010,2015170',
  day: '20150401,20150430',
  hour: '2015042000,2015042023',
  minute: '201504201300,201504201359',
};

/** The accepted forms for a unit, e.g. "YYYYMMDD or YYYYMMDD,YYYYMMDD (first,last inclusive), e.g. 20150420 or 20150401,20150430". */
function acceptedForms(unit: PeriodUnit): string {
  const form = PERIOD_KEY_FORMS[unit];
  return `task period is ${unit}: use ${form} or ${form},${form} (first,last inclusive), e.g. ${PERIOD_KEY_EXAMPLES[unit]} or ${RANGE_EXAMPLES[unit]}`;
}

function refuse(text: string, unit: PeriodUnit, problem: string): never {
  throw usageError(`invalid range ${JSON.stringify(text)}: ${problem}; ${acceptedForms(unit)}`);
}

function readKey(text: string, unit: PeriodUnit, key: string, zone: string): Period {
  if (key === '') refuse(text, unit, 'a value is empty');
  const parsed = tryParsePeriodKey(unit, key, zone);
  if (!parsed.ok) refuse(text, unit, parsed.problem);
  return parsed.period;
}

/** Counts first..last, giving up as soon as the count passes `max` (a minute range over years would be slow). */
function countPeriods(first: Period, last: Period, max: number): number | undefined {
  let count = 1;
  for (let p = first; p.start < last.start; p = nextPeriod(p)) {
    count += 1;
    if (count > max) return undefined;
  }
  return count;
}

/**
 * Reads a rerun range: `KEY` or `FIRST,LAST` in the unit's key form (see
 * PERIOD_KEY_FORMS), read in `zone`. At most `maxPeriods` (default 400) periods.
 * @throws UserError showing the accepted forms.
 */
export function parseRange(text: string, unit: PeriodUnit, zone: string, options: { maxPeriods?: number } = {}): PeriodRange {
  const max = options.maxPeriods ?? DEFAULT_MAX_PERIODS;
  if (!Number.isSafeInteger(max) || max < 1) throw usageError(`maxPeriods must be a whole number >= 1, got ${String(max)}`);
  if (text === '') refuse(text, unit, 'it is empty');
  if (/\s/.test(text)) refuse(text, unit, 'it contains spaces');
  const parts = text.split(',');
  if (parts.length > 2) refuse(text, unit, `it has ${parts.length} values; give one or two`);
  const first = readKey(text, unit, parts[0], zone);
  const last = parts.length === 2 ? readKey(text, unit, parts[1], zone) : first;
  if (last.start < first.start) refuse(text, unit, `the end ${last.key} is before the start ${first.key}`);
  const count = countPeriods(first, last, max);
  if (count === undefined) refuse(text, unit, `it spans more than ${max} ${unit} periods; split it into smaller ranges`);
  return { unit, first, last, count };
}

/** Every period of the range, in order. */
export function periodsOf(range: PeriodRange): Period[] {
  const periods = [range.first];
  while (periods.length < range.count) periods.push(nextPeriod(periods[periods.length - 1]));
  return periods;
}
