import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AT_EXECUTE_GRAMMAR,
  describeSchedule,
  parseAtExecute,
  scheduleOf,
  toTemporalCalendar,
} from '../../core/schedule';
import { UserError } from '../../core/errors';

/** Asserts a usage error whose message contains every fragment. */
function assertUsage(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    for (const f of fragments) assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

describe('parseAtExecute', () => {
  test("the original gflow's five examples", () => {
    assert.deepEqual(parseAtExecute('w1d2'), { kind: 'calendar', spec: 'w1d2', unit: 'week', point: { dayOfWeek: 1, hour: 2, minute: 0, second: 0 } });
    assert.deepEqual(parseAtExecute('d2H30'), { kind: 'calendar', spec: 'd2H30', unit: 'day', point: { hour: 2, minute: 30, second: 0 } });
    assert.deepEqual(parseAtExecute('m1d3'), { kind: 'calendar', spec: 'm1d3', unit: 'month', point: { dayOfMonth: 1, hour: 3, minute: 0, second: 0 } });
    assert.deepEqual(parseAtExecute('H5'), { kind: 'calendar', spec: 'H5', unit: 'hour', point: { hour: 0, minute: 5, second: 0 } });
    assert.deepEqual(parseAtExecute('M30'), { kind: 'calendar', spec: 'M30', unit: 'minute', point: { hour: 0, minute: 0, second: 30 } });
  });

  test('every letter at once, and skipped middle letters default to 0', () => {
    assert.deepEqual(parseAtExecute('m28d23H59M59').point, { dayOfMonth: 28, hour: 23, minute: 59, second: 59 });
    assert.deepEqual(parseAtExecute('w7d0H0M0').point, { dayOfWeek: 7, hour: 0, minute: 0, second: 0 });
    assert.deepEqual(parseAtExecute('w3M15').point, { dayOfWeek: 3, hour: 0, minute: 0, second: 15 });
    assert.equal(parseAtExecute('d0M1').unit, 'day');
    assert.equal(parseAtExecute('H0M1').unit, 'hour');
  });

  test('bounds are accepted', () => {
    for (const spec of ['m1', 'm28', 'w1', 'w7', 'd0', 'd23', 'H0', 'H59', 'M0', 'M59']) {
      assert.equal(parseAtExecute(spec).spec, spec);
    }
  });

  test('leading zeros are accepted', () => {
    assert.equal(parseAtExecute('d02').point.hour, 2);
    assert.equal(parseAtExecute('m01d03').point.dayOfMonth, 1);
  });

  const refusals: Array<[string, string]> = [
    ['x1', "unknown letter 'x'"],
    ['w8', 'weekday'],
    ['w0', '1..7'],
    ['d24', 'hour must be 0..23'],
    ['d25', 'hour must be 0..23'],
    ['H60', 'minute must be 0..59'],
    ['H61', 'minute must be 0..59'],
    ['M60', 'second must be 0..59'],
    ['m0', 'day of month must be 1..28'],
    ['m29', 'does not occur in every month'],
    ['m31', 'does not occur in every month'],
    ['m32', 'day of month must be 1..28'],
    ['', 'empty'],
    ['w1m2', 'cannot both appear'],
    ['m1w2', 'cannot both appear'],
    ['H5d2', 'coarse to fine'],
    ['d2d3', 'twice'],
    ['d', 'no number'],
    ['d2x', "unknown letter 'x'"],
    ['d02.5', 'plain digits'],
    [' d2', 'spaces'],
    ['d2 ', 'spaces'],
    ['d 2', 'spaces'],
    ['d+2', 'plain digits'],
    ['d-2', 'plain digits'],
    ['+d2', 'start with a letter'],
    ['12', 'start with a letter'],
    ['D2', "unknown letter 'D'"],
  ];
  for (const [spec, problem] of refusals) {
    test(`refuses ${JSON.stringify(spec)}`, () => {
      assertUsage(() => parseAtExecute(spec), `invalid atExecute ${JSON.stringify(spec)}`, problem, AT_EXECUTE_GRAMMAR);
    });
  }
});

describe('scheduleOf', () => {
  test('one of the three', () => {
    assert.deepEqual(scheduleOf({ breakExecute: true }), { kind: 'once' });
    assert.deepEqual(scheduleOf({ sleepExecute: 3600 }), { kind: 'interval', seconds: 3600 });
    assert.equal(scheduleOf({ atExecute: 'w1d2' }).kind, 'calendar');
  });

  test('none or several are refused', () => {
    assertUsage(() => scheduleOf({}), 'exactly one of', 'got none');
    assertUsage(() => scheduleOf({ atExecute: 'd2', sleepExecute: 60 }), 'got atExecute and sleepExecute');
    assertUsage(() => scheduleOf({ breakExecute: true, sleepExecute: 60 }), 'exactly one of');
  });

  test('bad values are refused', () => {
    assertUsage(() => scheduleOf({ breakExecute: false }), 'breakExecute must be true');
    for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assertUsage(() => scheduleOf({ sleepExecute: bad }), 'sleepExecute must be a whole number', 'exactly one of');
    }
    assertUsage(() => scheduleOf({ sleepExecute: '60' as unknown as number }), 'sleepExecute');
    assertUsage(() => scheduleOf({ atExecute: 'w9' }), 'invalid atExecute "w9"');
  });
});

describe('toTemporalCalendar', () => {
  const base = { month: '*' } as const;
  test('w1d2: Mondays 02:00:00', () => {
    assert.deepEqual(toTemporalCalendar(parseAtExecute('w1d2')), {
      ...base, second: 0, minute: 0, hour: 2, dayOfMonth: '*', dayOfWeek: 'MONDAY', comment: 'w1d2',
    });
  });
  test('w7 is Sunday', () => {
    assert.equal(toTemporalCalendar(parseAtExecute('w7')).dayOfWeek, 'SUNDAY');
    assert.equal(toTemporalCalendar(parseAtExecute('w6')).dayOfWeek, 'SATURDAY');
  });
  test('d2H30: daily 02:30:00', () => {
    assert.deepEqual(toTemporalCalendar(parseAtExecute('d2H30')), {
      ...base, second: 0, minute: 30, hour: 2, dayOfMonth: '*', dayOfWeek: '*', comment: 'd2H30',
    });
  });
  test('m1d3: day 1 at 03:00:00', () => {
    assert.deepEqual(toTemporalCalendar(parseAtExecute('m1d3')), {
      ...base, second: 0, minute: 0, hour: 3, dayOfMonth: 1, dayOfWeek: '*', comment: 'm1d3',
    });
  });
  test('H5: every hour at :05:00', () => {
    assert.deepEqual(toTemporalCalendar(parseAtExecute('H5')), {
      ...base, second: 0, minute: 5, hour: '*', dayOfMonth: '*', dayOfWeek: '*', comment: 'H5',
    });
  });
  test('M30: every minute at :30', () => {
    assert.deepEqual(toTemporalCalendar(parseAtExecute('M30')), {
      ...base, second: 30, minute: '*', hour: '*', dayOfMonth: '*', dayOfWeek: '*', comment: 'M30',
    });
  });
});

describe('describeSchedule', () => {
  test('words', () => {
    assert.equal(describeSchedule({ kind: 'once' }, 'UTC'), 'once');
    assert.equal(describeSchedule({ kind: 'interval', seconds: 3600 }, 'UTC'), 'every 3600 s');
    assert.equal(describeSchedule(parseAtExecute('w1d2'), 'UTC'), 'Mondays at 02:00 (UTC)');
    assert.equal(describeSchedule(parseAtExecute('w7d23H5'), 'UTC'), 'Sundays at 23:05 (UTC)');
    assert.equal(describeSchedule(parseAtExecute('d2H30'), 'Europe/Berlin'), 'daily at 02:30 (Europe/Berlin)');
    assert.equal(describeSchedule(parseAtExecute('d2H30M15'), 'UTC'), 'daily at 02:30:15 (UTC)');
    assert.equal(describeSchedule(parseAtExecute('m1d3'), 'UTC'), 'monthly on day 1 at 03:00 (UTC)');
    assert.equal(describeSchedule(parseAtExecute('H5'), 'UTC'), 'hourly at :05');
    assert.equal(describeSchedule(parseAtExecute('H5M7'), 'UTC'), 'hourly at :05:07');
    assert.equal(describeSchedule(parseAtExecute('M30'), 'UTC'), 'every minute at :30 s');
  });
});
