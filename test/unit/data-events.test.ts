import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dayBounds } from '../../core/day';
import { activitySettings, addDays, daysEnding } from '../../store/activity/keys';
import { validateConfig } from '../../store/config/runtime-config';
import { formatAmount, LocalDays, parseEventLine } from '../../store/activity/events';
import { validateReportFinished } from '../../store/activity/publish';
import { UserError } from '../../core/errors';
import { MALFORMED } from '../helpers/data';

const utc = () => 'UTC';
const parse = (line: string, zone = 'UTC') => parseEventLine(line, () => zone, new LocalDays());
const reason = (line: string) => {
  const r = parse(line);
  assert.equal(r.ok, false, `expected a rejection for ${line}`);
  return r.ok ? '' : r.reason;
};

describe('event parsing', () => {
  test('the malformed-line corpus is refused, each with its reason', () => {
    for (const [line, pattern] of MALFORMED) assert.match(reason(line), pattern, line);
  });

  test('a valid line becomes a typed event; unknown fields are ignored', () => {
    const r = parse('{"game":7,"user":"u1","type":"pay","ts":"2026-11-24T10:30:00+08:00","id":"o-1","amount":"6.99","server":3,"channel":"ios","extra":true}');
    assert.ok(r.ok);
    assert.deepEqual(r.event, {
      game: 7, user: 'u1', type: 'pay', ts: Date.parse('2026-11-24T02:30:00Z'), day: '20261124', hour: 2, secondOfDay: 2 * 3600 + 1800,
      server: 3, channel: 'ios', id: 'o-1', amountUnits: 69900,
    });
  });

  test('days and hours are taken in the zone', () => {
    const line = '{"game":7,"user":"u","type":"login","ts":"2026-11-24T17:30:00Z"}';
    const shanghai = parse(line, 'Asia/Shanghai');
    assert.ok(shanghai.ok);
    assert.equal(shanghai.event.day, '20261125');
    assert.equal(shanghai.event.hour, 1);
    const utcDay = parse(line);
    assert.ok(utcDay.ok);
    assert.equal(utcDay.event.day, '20261124');
  });

  test('on a DST day hours follow the wall clock', () => {
    // Europe/Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    const r = parse('{"game":7,"user":"u","type":"login","ts":"2026-03-29T03:30:00+02:00"}', 'Europe/Berlin');
    assert.ok(r.ok);
    assert.equal(r.event.day, '20260329');
    assert.equal(r.event.hour, 3);
    assert.equal(r.event.secondOfDay, 2.5 * 3600);
    assert.equal(dayBounds('20260329', 'Europe/Berlin').seconds, 23 * 3600);
  });

  test('epoch seconds and amounts', () => {
    const r = parseEventLine('{"game":1,"user":"u","type":"pay","ts":1764000000.9,"id":17,"amount":0.1}', utc, new LocalDays());
    assert.ok(r.ok);
    assert.equal(r.event.ts, 1764000000900);
    assert.equal(r.event.id, '17');
    assert.equal(r.event.amountUnits, 1000);
    assert.equal(formatAmount(1000 + 2000), '0.3');
    assert.equal(formatAmount(20000), '2');
  });
});

describe('day arithmetic and settings', () => {
  test('daysEnding and addDays cross months and leap days', () => {
    assert.deepEqual(daysEnding('20240301', 3), ['20240228', '20240229', '20240301']);
    assert.equal(daysEnding('20261124', 30).length, 30);
    assert.equal(addDays('20241231', 1), '20250101');
    assert.equal(addDays('20250101', -30), '20241202');
  });

  test('activity settings refuse impossible values', () => {
    assert.equal(activitySettings().threshold, 1_000_000);
    assert.throws(() => activitySettings({ bucketMinutes: 7 }), UserError);
    assert.throws(() => activitySettings({ threshold: -1 }), UserError);
  });

  test('config keys and values are validated', () => {
    validateConfig('activity.threshold', '10');
    validateConfig('report.custom', 'anything');
    assert.throws(() => validateConfig('activity.threshold', 'ten'), /whole number/);
    assert.throws(() => validateConfig('ingest.stream', '../x'), /not valid/);
    assert.throws(() => validateConfig('nodots', 'x'), /config key/);
    assert.throws(() => validateConfig('a.b', 'x'.repeat(5000)), /at most 4096/);
  });

  test('report messages are validated', () => {
    assert.deepEqual(validateReportFinished({ job: 'report', task: 'active', game: 7, period: '20261124' }), { job: 'report', task: 'active', game: 7, period: '20261124' });
    assert.throws(() => validateReportFinished({ job: 'report', task: 'active', game: '7', period: '20261124' }), /game/);
    assert.throws(() => validateReportFinished({ job: 'report', task: 'active', game: 7, period: 'today' }), /period/);
  });
});
