import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange, periodsOf } from '../../core/range';
import { UserError } from '../../core/errors';

const BERLIN = 'Europe/Berlin';

function assertUsage(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    for (const f of fragments) assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

const keys = (text: string, unit: Parameters<typeof parseRange>[1], zone = 'UTC'): string[] =>
  periodsOf(parseRange(text, unit, zone)).map((p) => p.key);

describe('parseRange', () => {
  test('one key is a range of one', () => {
    const r = parseRange('20150420', 'day', BERLIN);
    assert.equal(r.count, 1);
    assert.equal(r.first.key, '20150420');
    assert.deepEqual(r.last, r.first);
    assert.deepEqual(keys('20150420', 'day'), ['20150420']);
  });

  test('start,end is inclusive', () => {
    const r = parseRange('20150401,20150430', 'day', BERLIN);
    assert.equal(r.unit, 'day');
    assert.equal(r.count, 30);
    assert.equal(r.first.key, '20150401');
    assert.equal(r.last.key, '20150430');
    const all = periodsOf(r);
    assert.equal(all.length, 30);
    assert.equal(all[29].key, '20150430');
    for (let i = 1; i < all.length; i++) assert.equal(all[i].start, all[i - 1].end);
  });

  test('equal start and end', () => {
    assert.equal(parseRange('201504,201504', 'month', 'UTC').count, 1);
  });

  test('across months and years', () => {
    assert.deepEqual(keys('20150130,20150202', 'day'), ['20150130', '20150131', '20150201', '20150202']);
    assert.deepEqual(keys('20151230,20160102', 'day'), ['20151230', '20151231', '20160101', '20160102']);
    assert.deepEqual(keys('201511,201602', 'month'), ['201511', '201512', '201601', '201602']);
    assert.deepEqual(keys('2015520,2016020', 'week'), ['2015520', '2015530', '2016010', '2016020']);
    assert.deepEqual(keys('2015123122,2016010101', 'hour'), ['2015123122', '2015123123', '2016010100', '2016010101']);
    assert.deepEqual(keys('201512312358,201601010001', 'minute'), ['201512312358', '201512312359', '201601010000', '201601010001']);
  });

  test('a leap year of days, and hours over a DST change', () => {
    assert.equal(parseRange('20160101,20161231', 'day', BERLIN).count, 366);
    assert.equal(parseRange('2026032900,2026032923', 'hour', BERLIN).count, 23);
    assert.equal(parseRange('2026102500,2026102523', 'hour', BERLIN).count, 24);
  });

  test('maxPeriods', () => {
    assert.equal(parseRange('20150101,20160204', 'day', 'UTC').count, 400);
    assertUsage(() => parseRange('20150101,20160205', 'day', 'UTC'), 'more than 400 day periods', 'YYYYMMDD,YYYYMMDD');
    assert.equal(parseRange('201504,201506', 'month', 'UTC', { maxPeriods: 3 }).count, 3);
    assertUsage(() => parseRange('201504,201507', 'month', 'UTC', { maxPeriods: 3 }), 'more than 3 month periods');
    // Refused quickly, not after walking a decade of minutes.
    assertUsage(() => parseRange('201501010000,202501010000', 'minute', 'UTC'), 'more than 400');
  });

  const refusals: Array<[string, string, string[]]> = [
    ['201504', 'day', ['is a month (YYYYMM), not a day', 'task period is day: use YYYYMMDD']],
    ['20150420', 'month', ['is a day (YYYYMMDD), not a month', 'task period is month: use YYYYMM']],
    ['2015042013', 'day', ['is an hour (YYYYMMDDHH)', 'use YYYYMMDD']],
    ['20150420', 'week', ['is a day', 'use YYYYWW0']],
    ['20150431', 'day', ['April 2015 has days 01..30']],
    ['20150401,20150431', 'day', ['20150431', 'April 2015']],
    ['201513', 'month', ['month 13']],
    ['2015540', 'week', ['ISO weeks 01..53']],
    ['2015042024', 'hour', ['hour 24']],
    ['20150430,20150401', 'day', ['end 20150401 is before the start 20150430']],
    ['', 'day', ['empty']],
    [',', 'day', ['a value is empty']],
    ['20150401,', 'day', ['a value is empty']],
    [',20150401', 'day', ['a value is empty']],
    [' 20150401', 'day', ['spaces']],
    ['20150401, 20150402', 'day', ['spaces']],
    ['20150401,20150402,20150403', 'day', ['3 values']],
    ['2015-04-01', 'day', ['not all digits']],
    ['20150401-20150402', 'day', ['not all digits']],
  ];
  for (const [text, unit, fragments] of refusals) {
    test(`refuses ${JSON.stringify(text)} for a ${unit} task`, () => {
      assertUsage(
        () => parseRange(text, unit as Parameters<typeof parseRange>[1], 'UTC'),
        `invalid range ${JSON.stringify(text)}`,
        'first,last inclusive',
        ...fragments,
      );
    });
  }

  test('a skipped hour is refused as an end point', () => {
    assertUsage(() => parseRange('2026032900,2026032902', 'hour', BERLIN), 'skip', 'YYYYMMDDHH');
  });
});
