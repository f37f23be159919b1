import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../core/errors';
import { assertDayKey, assertKeyPart, assertSqlName, describeValue, parseGameId, sqlId } from '../../store/identifiers';
import { DayKeys, derivedKeysCovering, ordersKey, scratchKey } from '../../store/activity/keys';
import { userIndexKey } from '../../store/activity/user-index';
import { Names } from '../../core/names';

const HOSTILE = ['1;DROP TABLE x', '../', '../../etc/passwd', 'a'.repeat(10_240), '', ' 1', '1 ', '0x10', '1e3', '-1', '0', 'games`; --', 'x:y', 'a\nb', '\u0000'];

/** A usage error (exit 2) with one short line. */
function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(err.message.length < 300, `short message, got ${err.message.length} chars`);
    return true;
  });
}

describe('identifiers', () => {
  test('game ids are whole numbers from 1 to 2^31-1', () => {
    assert.equal(parseGameId(7), 7);
    assert.equal(parseGameId('42'), 42);
    assert.equal(parseGameId(2147483647), 2147483647);
    for (const bad of [...HOSTILE, 2147483648, 1.5, NaN, null, undefined, {}, [1], true]) {
      refused(() => parseGameId(bad), /game id .* is not valid: use a whole number from 1 to 2147483647/);
    }
  });

  test('SQL names come from a narrow alphabet and are escaped', () => {
    assert.equal(sqlId('gflow_meta', 'games'), '`gflow_meta`.`games`');
    assert.equal(sqlId('report_active'), '`report_active`');
    for (const bad of [...HOSTILE, 'a.b', 'a`b', 'a'.repeat(65), '1abc']) {
      refused(() => sqlId('gflow_meta', bad), /SQL name .* is not valid/);
      refused(() => assertSqlName(bad), /SQL name/);
    }
  });

  test('key parts refuse separators, paths and huge strings', () => {
    assertKeyPart('events');
    assertKeyPart('game-7.v2');
    for (const bad of ['1;DROP TABLE x', '../', '../../etc/passwd', 'a'.repeat(10_240), '', 'x:y', 'a\nb', '..', '.', 'a b', 'a*', 'a'.repeat(65)]) refused(() => assertKeyPart(bad, 'stream name'), /stream name .* is not valid: use 1 to 64/);
  });

  test('day keys are real calendar days', () => {
    assertDayKey('20240229');
    for (const bad of ['20230229', '20261301', '20261132', '2026112', '../20261124', 'abcdefgh', 20261124]) refused(() => assertDayKey(bad), /YYYYMMDD/);
  });

  test('hostile values never reach a Redis key name', () => {
    const names = new Names('t_unit');
    assert.equal(new DayKeys(names, 7, '20261124').kind('active'), 't_unit:act:{7}:20261124:active');
    refused(() => new DayKeys(names, '1;DROP TABLE x' as unknown as number, '20261124'), /game id/);
    refused(() => new DayKeys(names, 7, '../../x'), /day/);
  });

  test("every key of a game carries the game as its hash tag, and only that tag (one Redis Cluster slot per game)", () => {
    const names = new Names('t_unit');
    const day = new DayKeys(names, 7, '20261124');
    const keys = [
      day.kind('active'), day.kind('new'), day.kind('payers'), day.online(120), day.activeUnion(1), day.activeUnion(2), day.activeBits, day.newRuns, day.repr, day.pay, day.orders,
      ...derivedKeysCovering(names, 7, '20261124'), ordersKey(names, 7, '202611'), userIndexKey(names, 7), scratchKey(names, 7, 'q1'),
    ];
    // Redis hashes the text between the first { and the next }: every key's must be the game.
    for (const key of keys) assert.equal(/\{([^}]*)\}/.exec(key)?.[1], '7', key);
    assert.deepEqual([day.kind('active'), ordersKey(names, 7, '202611'), userIndexKey(names, 7), scratchKey(names, 7, 'q1')], [
      't_unit:act:{7}:20261124:active',
      't_unit:act:{7}:orders:202611',
      't_unit:uidx:{7}',
      't_unit:tmp:{7}:q1',
    ]);
    assert.equal(names.gameKey('chn', 12, '20261124'), 't_unit:chn:{12}:20261124');
    for (const bad of [0, -1, 1.5, Number.NaN, '7' as unknown as number]) refused(() => names.gameKey('act', bad), /game id/);
  });

  test('messages quote a short printable excerpt', () => {
    const text = describeValue('a'.repeat(10_240));
    assert.ok(text.length < 60);
    assert.match(text, /10240 chars/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(describeValue('a\u001bb\u009b'), /[\u0000-\u001f\u007f-\u009f]/);
  });
});
