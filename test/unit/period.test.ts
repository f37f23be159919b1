import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  instantPeriod,
  nextPeriod,
  parsePeriodKey,
  PERIOD_KEY_FORMS,
  periodContaining,
  periodForFireTime,
  periodLabel,
  previousPeriod,
  tryParsePeriodKey,
} from '../../core/period';
import type { Period } from '../../core/period';
import type { PeriodUnit } from '../../core/schedule';
import { addDays, dayBounds, dayEnd, dayKeyOf, dayOf, dayRange, daysEnding, dayStart, isDayKey, isoWeekday } from '../../core/day';
import { UserError } from '../../core/errors';

const BERLIN = 'Europe/Berlin';
const HOUR = 3_600_000;
const at = (iso: string): number => {
  const ms = Date.parse(iso);
  assert.ok(Number.isFinite(ms), iso);
  return ms;
};
const iso = (ms: number): string => new Date(ms).toISOString();

function assertUsage(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    for (const f of fragments) assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

describe('periodForFireTime: the period that just ended', () => {
  test('d2H30 fired 2015-04-21 02:30 Berlin computes day 20150420', () => {
    const p = periodForFireTime('day', at('2015-04-21T02:30:00+02:00'), BERLIN);
    assert.deepEqual(p, { unit: 'day', key: '20150420', start: at('2015-04-20T00:00:00+02:00'), end: at('2015-04-21T00:00:00+02:00'), zone: BERLIN });
  });
  test('w1d2 fired Monday 2015-04-20 02:00 computes ISO week 16', () => {
    const p = periodForFireTime('week', at('2015-04-20T02:00:00+02:00'), BERLIN);
    assert.equal(p.key, '2015160');
    assert.equal(iso(p.start), '2015-04-12T22:00:00.000Z');
    assert.equal(iso(p.end), '2015-04-19T22:00:00.000Z');
  });
  test('m1d3 fired 2015-05-01 03:00 computes April', () => {
    const p = periodForFireTime('month', at('2015-05-01T03:00:00+02:00'), BERLIN);
    assert.equal(p.key, '201504');
    assert.equal(iso(p.start), '2015-03-31T22:00:00.000Z');
    assert.equal(iso(p.end), '2015-04-30T22:00:00.000Z');
  });
  test('m1d3 fired on 1 January computes December of the year before', () => {
    assert.equal(periodForFireTime('month', at('2016-01-01T03:00:00Z'), 'UTC').key, '201512');
  });
  test('H5 fired 13:05 computes hour 12', () => {
    const p = periodForFireTime('hour', at('2015-04-20T13:05:00+02:00'), BERLIN);
    assert.equal(p.key, '2015042012');
    assert.equal(p.end - p.start, HOUR);
  });
  test('M30 fired 12:05:30 computes minute 12:04', () => {
    const p = periodForFireTime('minute', at('2015-04-20T12:05:30Z'), 'UTC');
    assert.equal(p.key, '201504201204');
    assert.equal(iso(p.start), '2015-04-20T12:04:00.000Z');
    assert.equal(p.end - p.start, 60_000);
  });
  test('a fire exactly on a boundary computes the period before it', () => {
    assert.equal(periodForFireTime('day', at('2015-04-21T00:00:00Z'), 'UTC').key, '20150420');
  });
});

describe('DST in Europe/Berlin', () => {
  test('2026-03-29 is 23 hours, 2026-10-25 is 25 hours', () => {
    const spring = periodForFireTime('day', at('2026-03-30T02:30:00+02:00'), BERLIN);
    assert.equal(spring.key, '20260329');
    assert.equal(spring.end - spring.start, 23 * HOUR);
    const autumn = parsePeriodKey('day', '20261025', BERLIN);
    assert.equal(autumn.end - autumn.start, 25 * HOUR);
  });
  test('the skipped hour 02 does not exist; 01 and 03 are one hour each', () => {
    assertUsage(() => parsePeriodKey('hour', '2026032902', BERLIN), '2026032902', 'skip', 'YYYYMMDDHH');
    const one = parsePeriodKey('hour', '2026032901', BERLIN);
    assert.equal(iso(one.start), '2026-03-29T00:00:00.000Z');
    assert.equal(one.end - one.start, HOUR);
    assert.equal(nextPeriod(one).key, '2026032903');
    assert.equal(periodForFireTime('hour', at('2026-03-29T03:05:00+02:00'), BERLIN).key, '2026032901');
  });
  test('the repeated hour 02 is one two-hour period with one key', () => {
    const two = parsePeriodKey('hour', '2026102502', BERLIN);
    assert.equal(iso(two.start), '2026-10-25T00:00:00.000Z');
    assert.equal(iso(two.end), '2026-10-25T02:00:00.000Z');
    assert.equal(periodContaining('hour', at('2026-10-25T02:30:00+02:00'), BERLIN).key, '2026102502');
    assert.equal(periodContaining('hour', at('2026-10-25T02:30:00+01:00'), BERLIN).key, '2026102502');
    assert.equal(periodForFireTime('hour', at('2026-10-25T03:05:00+01:00'), BERLIN).key, '2026102502');
  });
  test('minutes in the repeated hour fall in the last minute before 03:00', () => {
    const p = periodContaining('minute', at('2026-10-25T02:00:30+01:00'), BERLIN);
    assert.equal(p.key, '202610250259');
    assert.equal(iso(p.end), '2026-10-25T02:00:00.000Z');
  });
  for (const day of ['20260329', '20261025']) {
    test(`hours and minutes tile day ${day} without gaps or repeated keys`, () => {
      for (const unit of ['hour', 'minute'] as const) {
        const d = parsePeriodKey('day', day, BERLIN);
        const keys = new Set<string>();
        let p = periodContaining(unit, d.start, BERLIN);
        assert.equal(p.start, d.start);
        while (p.end < d.end) {
          const q = nextPeriod(p);
          assert.equal(q.start, p.end);
          assert.ok(!keys.has(q.key));
          keys.add(q.key);
          assert.equal(previousPeriod(q).key, p.key);
          p = q;
        }
        assert.equal(p.end, d.end);
        assert.equal(keys.size + 1, unit === 'hour' ? (day === '20260329' ? 23 : 24) : (day === '20260329' ? 23 * 60 : 24 * 60));
      }
    });
  }
});

describe('ISO weeks', () => {
  test('2015-12-31 and 2016-01-01 are in 2015-W53', () => {
    assert.equal(periodContaining('week', at('2015-12-31T12:00:00Z'), 'UTC').key, '2015530');
    assert.equal(periodContaining('week', at('2016-01-01T12:00:00Z'), 'UTC').key, '2015530');
  });
  test('2021-01-03 is in 2020-W53, 2021-01-04 in 2021-W01', () => {
    const w = periodContaining('week', at('2021-01-03T12:00:00Z'), BERLIN);
    assert.equal(w.key, '2020530');
    assert.equal(periodLabel(w), '2020-W53');
    assert.equal(nextPeriod(w).key, '2021010');
    assert.equal(periodContaining('week', at('2021-01-04T12:00:00Z'), BERLIN).key, '2021010');
  });
  test('a week starts Monday 00:00 in the zone and lasts 7 days', () => {
    const w = parsePeriodKey('week', '2015020', BERLIN);
    assert.equal(iso(w.start), '2015-01-04T23:00:00.000Z');
    assert.equal(w.end - w.start, 7 * 24 * HOUR);
  });
  test('week 53 only in years that have it, never 54 or 00', () => {
    assert.equal(parsePeriodKey('week', '2020530', 'UTC').key, '2020530');
    assertUsage(() => parsePeriodKey('week', '2021530', 'UTC'), '2021530', 'week', 'YYYYWW0', 'ISO weeks 01..52');
    assertUsage(() => parsePeriodKey('week', '2015540', 'UTC'), 'ISO weeks 01..53');
    assertUsage(() => parsePeriodKey('week', '2015000', 'UTC'), 'ISO weeks');
    assertUsage(() => parsePeriodKey('week', '2015171', 'UTC'), 'ends in 0');
  });
});

describe('parsePeriodKey', () => {
  const samples: Record<PeriodUnit, string[]> = {
    month: ['201504', '201512', '201601', '202402'],
    week: ['2015170', '2015530', '2020010'],
    day: ['20150420', '20160229', '20151231'],
    hour: ['2015042000', '2015042023'],
    minute: ['201504200000', '201504202359'],
  };
  for (const [unit, keys] of Object.entries(samples) as Array<[PeriodUnit, string[]]>) {
    test(`${unit} keys round-trip`, () => {
      for (const zone of ['UTC', BERLIN, 'Asia/Kolkata', 'America/New_York']) {
        for (const key of keys) {
          const p = parsePeriodKey(unit, key, zone);
          assert.equal(p.key, key);
          assert.equal(p.unit, unit);
          assert.deepEqual(periodContaining(unit, p.start, zone), p);
          assert.deepEqual(periodContaining(unit, p.end - 1, zone), p);
          assert.deepEqual(previousPeriod(nextPeriod(p)), p);
        }
      }
    });
  }
  test('hours in a half-hour zone start at local :00', () => {
    assert.equal(iso(parsePeriodKey('hour', '2015042013', 'Asia/Kolkata').start), '2015-04-20T07:30:00.000Z');
  });
  test('impossible values are refused with the unit and its form', () => {
    assertUsage(() => parsePeriodKey('day', '20150431', 'UTC'), '"20150431"', 'day', 'YYYYMMDD', 'April 2015 has days 01..30');
    assertUsage(() => parsePeriodKey('day', '20150229', 'UTC'), 'February 2015 has days 01..28');
    assertUsage(() => parsePeriodKey('day', '20150400', 'UTC'), 'April 2015');
    assertUsage(() => parsePeriodKey('month', '201513', 'UTC'), '"201513"', 'month', 'YYYYMM', 'month 13');
    assertUsage(() => parsePeriodKey('month', '201500', 'UTC'), 'month 00');
    assertUsage(() => parsePeriodKey('hour', '2015042024', 'UTC'), 'hour 24', 'YYYYMMDDHH');
    assertUsage(() => parsePeriodKey('minute', '201504202360', 'UTC'), 'minute 60', 'YYYYMMDDHHMM');
    assertUsage(() => parsePeriodKey('month', '000001', 'UTC'), 'year 0000');
  });
  test('wrong shapes are refused', () => {
    assertUsage(() => parsePeriodKey('day', '201504', 'UTC'), 'is a month (YYYYMM), not a day', 'YYYYMMDD');
    assertUsage(() => parsePeriodKey('month', '20150420', 'UTC'), 'is a day (YYYYMMDD), not a month', 'YYYYMM');
    assertUsage(() => parsePeriodKey('day', '2015042', 'UTC'), 'is a week (YYYYWW0)');
    assertUsage(() => parsePeriodKey('day', '201504201', 'UTC'), 'has 9 digits');
    assertUsage(() => parsePeriodKey('day', '2015-04-20', 'UTC'), 'not all digits');
    assertUsage(() => parsePeriodKey('day', '', 'UTC'), 'not all digits');
    assertUsage(() => parsePeriodKey('day', '+2015042', 'UTC'), 'not all digits');
  });
  test('a whole day that a zone skipped does not exist', () => {
    assertUsage(() => parsePeriodKey('day', '20111230', 'Pacific/Apia'), 'skip');
    assert.equal(nextPeriod(parsePeriodKey('day', '20111229', 'Pacific/Apia')).key, '20111231');
  });
  test('tryParsePeriodKey reports instead of throwing', () => {
    assert.equal(tryParsePeriodKey('day', '20150420', 'UTC').ok, true);
    const bad = tryParsePeriodKey('day', '20150431', 'UTC');
    assert.equal(bad.ok, false);
  });
  test('unknown zones are refused', () => {
    assertUsage(() => parsePeriodKey('day', '20150420', 'Mars/Olympus'), 'unknown time zone');
    assertUsage(() => periodContaining('day', 0, 'nope'), 'unknown time zone');
  });
  test('PERIOD_KEY_FORMS', () => {
    assert.deepEqual(PERIOD_KEY_FORMS, { month: 'YYYYMM', week: 'YYYYWW0', day: 'YYYYMMDD', hour: 'YYYYMMDDHH', minute: 'YYYYMMDDHHMM' });
  });
});

describe('nextPeriod across boundaries', () => {
  const cases: Array<[PeriodUnit, string, string]> = [
    ['month', '201512', '201601'],
    ['week', '2015530', '2016010'],
    ['day', '20151231', '20160101'],
    ['day', '20160228', '20160229'],
    ['hour', '2015123123', '2016010100'],
    ['minute', '201512312359', '201601010000'],
  ];
  for (const [unit, from, to] of cases) {
    test(`${unit} ${from} -> ${to}`, () => {
      const p = parsePeriodKey(unit, from, BERLIN);
      const q = nextPeriod(p);
      assert.equal(q.key, to);
      assert.equal(q.start, p.end);
    });
  }
  test('not for instants', () => {
    assert.throws(() => nextPeriod(instantPeriod(0, 'UTC')));
  });
});

describe('instantPeriod', () => {
  test('key to the second in the zone; start floored to the second; one second long', () => {
    const p: Period = instantPeriod(at('2015-04-20T13:05:30.750Z'), BERLIN);
    assert.deepEqual(p, { unit: 'instant', key: '20150420150530', start: at('2015-04-20T13:05:30Z'), end: at('2015-04-20T13:05:31Z'), zone: BERLIN });
    assert.equal(periodLabel(p), '2015-04-20 15:05:30');
  });
});

describe('periodLabel', () => {
  test('each unit', () => {
    assert.equal(periodLabel(parsePeriodKey('month', '201504', 'UTC')), '2015-04');
    assert.equal(periodLabel(parsePeriodKey('week', '2015170', 'UTC')), '2015-W17');
    assert.equal(periodLabel(parsePeriodKey('day', '20150420', 'UTC')), '2015-04-20');
    assert.equal(periodLabel(parsePeriodKey('hour', '2015042013', 'UTC')), '2015-04-20 13:00');
    assert.equal(periodLabel(parsePeriodKey('minute', '201504201305', 'UTC')), '2015-04-20 13:05');
  });
});

describe('local days (core/day): the day model of periods', () => {
  const NEW_YORK = 'America/New_York';

  test('Europe/Berlin 2026-03-29 has 23 hours, 2026-10-25 has 25', () => {
    assert.deepEqual(dayBounds('20260329', BERLIN), { start: at('2026-03-29T00:00:00+01:00'), end: at('2026-03-30T00:00:00+02:00'), seconds: 23 * 3600 });
    assert.deepEqual(dayBounds('20261025', BERLIN), { start: at('2026-10-25T00:00:00+02:00'), end: at('2026-10-26T00:00:00+01:00'), seconds: 25 * 3600 });
    assert.equal(dayBounds('20260330', BERLIN).seconds, 24 * 3600);
    assert.equal(dayStart('20261025', BERLIN), at('2026-10-24T22:00:00Z'));
    assert.equal(dayEnd('20261025', BERLIN), at('2026-10-25T23:00:00Z'));
  });

  test('America/New_York 2026-03-08 has 23 hours, 2026-11-01 has 25', () => {
    assert.deepEqual(dayBounds('20260308', NEW_YORK), { start: at('2026-03-08T00:00:00-05:00'), end: at('2026-03-09T00:00:00-04:00'), seconds: 23 * 3600 });
    assert.deepEqual(dayBounds('20261101', NEW_YORK), { start: at('2026-11-01T00:00:00-04:00'), end: at('2026-11-02T00:00:00-05:00'), seconds: 25 * 3600 });
  });

  test('an instant belongs to its zone’s day, at both ends of a DST day', () => {
    // Berlin, spring: the last instant of 29 March is 21:59:59.999 UTC (23:59:59.999 CEST).
    assert.equal(dayKeyOf(at('2026-03-28T23:00:00Z'), BERLIN), '20260329');
    assert.equal(dayKeyOf(at('2026-03-29T21:59:59.999Z'), BERLIN), '20260329');
    assert.equal(dayKeyOf(at('2026-03-29T22:00:00Z'), BERLIN), '20260330');
    // Berlin, autumn: the repeated hour 02:00–03:00 is twice in 25 October.
    assert.equal(dayKeyOf(at('2026-10-25T00:30:00Z'), BERLIN), '20261025');
    assert.equal(dayKeyOf(at('2026-10-25T01:30:00Z'), BERLIN), '20261025');
    assert.equal(dayKeyOf(at('2026-10-25T22:59:59.999Z'), BERLIN), '20261025');
    assert.equal(dayKeyOf(at('2026-10-25T23:00:00Z'), BERLIN), '20261026');
    // New York: the same instant is another day than in UTC.
    assert.equal(dayKeyOf(at('2026-11-02T03:00:00Z'), NEW_YORK), '20261101');
    assert.equal(dayKeyOf(at('2026-11-02T03:00:00Z'), 'UTC'), '20261102');
    assert.equal(dayKeyOf(at('2026-03-09T03:59:59.999Z'), NEW_YORK), '20260308');
    assert.equal(dayKeyOf(at('2026-03-09T04:00:00Z'), NEW_YORK), '20260309');
  });

  test('dayOf is the day period: the same key, start and end as parsePeriodKey', () => {
    for (const [day, zone] of [['20260329', BERLIN], ['20261025', BERLIN], ['20260308', NEW_YORK], ['20261101', NEW_YORK]] as const) {
      const p = parsePeriodKey('day', day, zone);
      assert.deepEqual(dayOf(p.start, zone), p);
      assert.deepEqual(dayOf(p.end - 1, zone), p);
      assert.deepEqual(dayBounds(day, zone), { start: p.start, end: p.end, seconds: (p.end - p.start) / 1000 });
    }
  });

  test('days tile time: each day ends where the next starts, across both changes', () => {
    for (const zone of [BERLIN, NEW_YORK]) {
      for (const day of dayRange('20260301', '20261130')) assert.equal(dayEnd(day, zone), dayStart(addDays(day, 1), zone), `${day} ${zone}`);
    }
  });

  test('addDays, dayRange and daysEnding are calendar arithmetic: a DST day is one day', () => {
    assert.equal(addDays('20260328', 1), '20260329');
    assert.equal(addDays('20260329', 1), '20260330');
    assert.equal(addDays('20261025', -1), '20261024');
    assert.equal(addDays('20261026', -1), '20261025');
    assert.equal(addDays('20241231', 1), '20250101');
    assert.equal(addDays('20240301', -1), '20240229');
    assert.equal(addDays('20261124', 0), '20261124');
    assert.deepEqual(dayRange('20261024', '20261026'), ['20261024', '20261025', '20261026']);
    assert.deepEqual(dayRange('20261025', '20261025'), ['20261025']);
    assert.deepEqual(daysEnding('20260330', 3), ['20260328', '20260329', '20260330']);
    assert.equal(daysEnding('20261124', 30).length, 30);
    assert.equal(isoWeekday('20260329'), 7);
    assert.equal(isoWeekday('20260330'), 1);
  });

  test('bad day keys and counts are refused in one line', () => {
    for (const bad of ['20230229', '20261301', '2026112', '19691231', '../20261124']) {
      assert.equal(isDayKey(bad), false, bad);
      assertUsage(() => addDays(bad, 1), 'YYYYMMDD');
      assertUsage(() => dayBounds(bad, BERLIN), 'YYYYMMDD');
    }
    assert.equal(isDayKey('20240229'), true);
    assertUsage(() => addDays('20261124', 1.5), 'whole number');
    assertUsage(() => dayRange('20261126', '20261124'), 'ends before it starts');
    assertUsage(() => daysEnding('20261124', 0), '1 to 366');
    assertUsage(() => dayBounds('20261124', 'Mars/Olympus'), 'unknown time zone');
  });

  test('a day the zone skipped entirely has no instants', () => {
    assertUsage(() => dayBounds('20111230', 'Pacific/Apia'), 'does not exist');
  });
});
