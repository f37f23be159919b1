import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../core/errors';
import { badValue, parseAge, parseList, parsePositiveNumber, parseWholeNumber } from '../../core/parse';

/** A usage error (exit 2) whose message is one line and matches `pattern`. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseWholeNumber', () => {
  test('reads decimal digits, and numbers, within the range', () => {
    assert.equal(parseWholeNumber('42', '--n'), 42);
    assert.equal(parseWholeNumber('0', '--n'), 0);
    assert.equal(parseWholeNumber('007', '--n'), 7);
    assert.equal(parseWholeNumber('400', '--days', { min: 1, max: 400 }), 400);
    assert.equal(parseWholeNumber(12, '--n', { min: 1 }), 12);
    assert.equal(parseWholeNumber(String(Number.MAX_SAFE_INTEGER), '--n'), Number.MAX_SAFE_INTEGER);
  });

  test('refuses anything else: what, the value, what is accepted', () => {
    refused(() => parseWholeNumber('0', '--days', { min: 1, max: 400 }), /^--days "0": expected a whole number from 1 to 400$/);
    refused(() => parseWholeNumber('401', '--days', { min: 1, max: 400 }), /^--days "401": expected a whole number from 1 to 400$/);
    for (const bad of ['', ' 1', '1 ', '-1', '+1', '1.0', '1e3', '0x10', 'ten', '1;DROP', 'Infinity', '9007199254740993', '12345678901234567']) {
      refused(() => parseWholeNumber(bad, '--n', { min: 0, max: 10 }), /^--n ".*": expected a whole number from 0 to 10$/);
    }
    for (const bad of [1.5, -1, NaN, Infinity]) refused(() => parseWholeNumber(bad, 'config x'), /^config x .*: expected a whole number 0 or more$/);
  });

  test('says what is accepted in the caller’s words when given', () => {
    refused(() => parseWholeNumber('1;DROP TABLE x', '-g', { min: 1, max: 9, expected: 'a game id, e.g. -g 3,7' }), /^-g "1;DROP TABLE x": expected a game id, e.g. -g 3,7$/);
  });

  test('a long or multi-line value still makes one short line', () => {
    refused(() => parseWholeNumber('1\n2', '--n'), /^--n "1\\n2": expected/);
    refused(() => parseWholeNumber('9'.repeat(200), '--n'), /^--n "9{32}…": expected/);
    refused(() => parseWholeNumber('1\u009b2', '--n'), /^--n "1\?2": expected/);
  });
});

describe('parsePositiveNumber', () => {
  test('reads a number above 0, with or without a fraction', () => {
    assert.equal(parsePositiveNumber('30', '--grace'), 30);
    assert.equal(parsePositiveNumber('0.5', '--log-size'), 0.5);
    assert.equal(parsePositiveNumber('10', '--n', { max: 10 }), 10);
  });

  test('refuses 0, signs, exponents, words and what is over the maximum', () => {
    for (const bad of ['0', '0.0', '-1', '+1', '1e3', '.5', '5.', 'abc', '', 'Infinity']) {
      refused(() => parsePositiveNumber(bad, '--timeout'), /^--timeout ".*": expected a number above 0, e.g. 30 or 0\.5$/);
    }
    refused(() => parsePositiveNumber('11', '--n', { max: 10 }), /^--n "11": expected a number above 0 and at most 10/);
  });
});

describe('parseList', () => {
  test('splits on commas and trims', () => {
    assert.deepEqual(parseList('a', '-t'), ['a']);
    assert.deepEqual(parseList('daily, hourly', '-t'), ['daily', 'hourly']);
    assert.deepEqual(parseList('3,7', '-g', (e, what) => parseWholeNumber(e, what, { min: 1 })), [3, 7]);
  });

  test('refuses an empty element: it is a typo, never "all"', () => {
    for (const bad of ['1,,2', '1,', ',1', '', ' ', '1, ,2']) {
      refused(() => parseList(bad, '-g'), /^-g ".*": expected a comma-separated list with no empty element$/);
    }
  });

  test('an element the element parser refuses is named on its own', () => {
    refused(() => parseList('3,x', '-g', (e, what) => parseWholeNumber(e, what, { min: 1 })), /^-g "x": expected a whole number 1 or more$/);
  });
});

test('badValue: the one form of a refusal', () => {
  const err = badValue('-c', 'bad!chan', 'a channel id');
  assert.ok(err instanceof UserError);
  assert.equal(err.exitCode, 2);
  assert.equal(err.message, '-c "bad!chan": expected a channel id');
});

describe('parseAge', () => {
  test('a whole number and a unit, as milliseconds', () => {
    assert.equal(parseAge('90d', '--older-than'), 90 * 86_400_000);
    assert.equal(parseAge('12h', '--older-than'), 12 * 3_600_000);
    assert.equal(parseAge('30m', '--older-than'), 30 * 60_000);
    assert.equal(parseAge('2w', '--older-than'), 14 * 86_400_000);
  });

  test('anything else is refused with the accepted forms', () => {
    for (const bad of ['', '90', 'd', '0d', '-1d', '1.5d', '90 d', '90days', '1y', '9999999d']) {
      assert.throws(() => parseAge(bad, '--older-than'), /--older-than .*: expected an age such as 90d, 12h, 30m or 2w/, bad);
    }
  });
});
