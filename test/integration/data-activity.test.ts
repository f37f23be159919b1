/**
 * The activity store against hand-computed counts, under both
 * representations and a game that switches between them mid-week.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityStore, daysEnding, type DayRef } from '../../store/activity/store';
import { DayKeys, ordersKey, sinceKey, UNION_TTL_DAYS } from '../../store/activity/keys';
import { payFigures } from '../../jobs/report/compute';
import { dataWorld, events, snapshot } from '../helpers/data';
import { isUserError } from '../../core/errors';

const world = dataWorld();
after(() => world.cleanup());

/** The fixture: five users over eight days of November 2026 (UTC). */
function fixture(game: number, days?: ReadonlySet<string>) {
  const e = (user: string, type: string, ts: string, extra: object = {}) => ({ game, user, type, ts, ...extra });
  const all = [
    e('a', 'register', '2026-11-01T09:00:00Z'),
    e('b', 'register', '2026-11-01T10:00:00Z'),
    e('c', 'register', '2026-11-01T23:59:59Z'),
    e('a', 'login', '2026-11-01T09:01:00Z'),
    e('d', 'login', '2026-11-01T12:00:00Z'),
    e('a', 'pay', '2026-11-01T13:00:00Z', { id: 'o1', amount: '10.00' }),
    e('a', 'pay', '2026-11-01T14:00:00Z', { id: 'o2', amount: 5.5 }),
    e('a', 'login', '2026-11-02T00:00:00Z'),
    e('d', 'login', '2026-11-02T08:00:00Z'),
    e('a', 'online', '2026-11-02T00:02:00Z'),
    e('b', 'online', '2026-11-02T00:03:00Z'),
    e('a', 'online', '2026-11-02T00:07:00Z'),
    e('b', 'pay', '2026-11-02T15:00:00Z', { id: 'o3', amount: '1.25' }),
    e('e', 'register', '2026-11-03T11:00:00Z'),
    e('a', 'login', '2026-11-03T11:00:00Z'),
    e('b', 'login', '2026-11-08T11:00:00Z'),
    e('e', 'login', '2026-11-08T11:00:00Z'),
  ];
  return events(days ? all.filter((x) => days.has(x.ts.slice(0, 10).replace(/-/g, ''))) : all);
}

/** Every query of the store, as numbers checked by hand against the fixture. */
async function expectFixtureCounts(store: ActivityStore, game: number): Promise<void> {
  const count = (kind: DayRef['kind'], day: string) => store.count(game, kind, day);
  assert.deepEqual(
    await Promise.all(['20261101', '20261102', '20261103', '20261104', '20261108'].map((d) => count('active', d))),
    [4, 3, 2, 0, 2],
    'DAU',
  );
  assert.deepEqual(await Promise.all(['20261101', '20261102', '20261103'].map((d) => count('new', d))), [3, 0, 1], 'new users');
  assert.deepEqual(await Promise.all(['20261101', '20261102', '20261103'].map((d) => count('payers', d))), [1, 1, 0], 'payers');
  assert.equal(await store.unionCount(game, 'active', daysEnding('20261107', 7)), 5, 'WAU ending 7 Nov');
  assert.equal(await store.unionCount(game, 'active', daysEnding('20261108', 7)), 4, 'WAU ending 8 Nov');
  assert.equal(await store.unionCount(game, 'active', daysEnding('20261130', 30)), 5, 'MAU');
  assert.equal(await store.unionCount(game, 'active', ['20261104']), 0, 'empty day');
  const retention = (cohort: string, day: string) => store.intersectionCount(game, { kind: 'new', day: cohort }, { kind: 'active', day });
  assert.equal(await retention('20261101', '20261102'), 2, 'D1 of 1 Nov');
  assert.equal(await retention('20261101', '20261103'), 1, 'D2 of 1 Nov');
  assert.equal(await retention('20261101', '20261108'), 1, 'D7 of 1 Nov');
  assert.equal(await retention('20261103', '20261108'), 1, 'D5 of 3 Nov');
  assert.equal(await retention('20261101', '20261104'), 0, 'nobody on 4 Nov');
  const online = await store.onlineCounts(game, '20261102', 'UTC');
  assert.equal(online.length, 288);
  assert.deepEqual(online.slice(0, 3), [2, 1, 0]);
  assert.equal(online.reduce((a, b) => a + b, 0), 3);
  assert.deepEqual(await store.revenue(game, '20261101'), { amount: '15.5', units: 155000, orders: 2 });
  assert.deepEqual(await store.revenue(game, '20261102'), { amount: '1.25', units: 12500, orders: 1 });
}

describe('activity store', () => {
  let sets: ActivityStore;
  let bitmaps: ActivityStore;
  before(() => {
    sets = new ActivityStore(world.redis, world.names, { threshold: 1_000_000 });
    bitmaps = new ActivityStore(world.redis, world.names, { threshold: 0 });
  });

  test('sets give the hand-computed counts', async () => {
    await sets.write(fixture(1));
    assert.equal(await sets.representation(1, '20261101'), 'set');
    assert.equal(await world.redis.type(`${world.names.prefix}:act:{1}:20261101:active`), 'set');
    await expectFixtureCounts(sets, 1);
  });

  test('bitmaps give the same counts', async () => {
    await bitmaps.write(fixture(2));
    assert.equal(await bitmaps.representation(2, '20261101'), 'bitmap');
    assert.equal(await world.redis.type(`${world.names.prefix}:act:{2}:20261101:active`), 'string');
    await expectFixtureCounts(bitmaps, 2);
  });

  test('a game that crosses the threshold mid-week: mixed days, same counts', async () => {
    await sets.write(fixture(3, new Set(['20261101'])));
    await bitmaps.write(fixture(3, new Set(['20261102', '20261103', '20261108'])));
    // A day keeps the representation of its first write, whatever the threshold says later.
    await bitmaps.write(fixture(3, new Set(['20261101'])));
    assert.equal(await bitmaps.representation(3, '20261101'), 'set');
    assert.equal(await bitmaps.representation(3, '20261102'), 'bitmap');
    await expectFixtureCounts(bitmaps, 3);
  });

  test('writing the same events again changes no count', async () => {
    const again = await bitmaps.write(fixture(2));
    assert.equal(again.newOrders, 0);
    assert.equal(again.duplicateOrders, 3);
    await expectFixtureCounts(bitmaps, 2);
    await sets.write(fixture(1));
    await expectFixtureCounts(sets, 1);
  });

  test('dense indexes: bitmap size follows the number of users, not their ids', async () => {
    // Five users: indexes 0..4, so a day's bitmap is one byte.
    assert.equal(await world.redis.strlen(`${world.names.prefix}:act:{2}:20261101:active`), 1);
    assert.equal(await world.redis.hlen(`${world.names.prefix}:uidx:{2}`), 5);
  });

  test('the caches of bitmap days (window unions, cohort runs) expire no later than the days they cover', async () => {
    // The fixture's queries above built them for game 2.
    const union = `${world.names.prefix}:act:{2}:20261130:active:u16`;
    const runs = `${world.names.prefix}:act:{2}:20261101:new:runs`;
    const text = await world.redis.eval(`return table.concat(cmsgpack.unpack(redis.call('GET', KEYS[1])), ' ')`, 1, runs);
    assert.equal(text, '0 3', 'a, b, c: indexes 0 to 2, one run');
    // Absolute expiry times (PEXPIRETIME), so two reads a millisecond apart compare the same instants.
    const expiresAt = async (key: string) => Number(await world.redis.call('PEXPIRETIME', key));
    const [unionAt, runsAt, dayAt] = [await expiresAt(union), await expiresAt(runs), await expiresAt(`${world.names.prefix}:act:{2}:20261101:new`)];
    const now = Date.now();
    assert.ok(unionAt > now && unionAt <= now + UNION_TTL_DAYS[2]! * 86_400_000, `union expires at ${unionAt}`);
    assert.ok(runsAt > now && runsAt <= dayAt, `runs expire at ${runsAt}, the day at ${dayAt}`);
    // A write to 1 Nov drops the cohort's runs and every union covering 1 Nov; a count rebuilds them, equal.
    assert.equal(await world.redis.exists(`${world.names.prefix}:act:{2}:20261104:active:u4`), 1);
    await bitmaps.write(fixture(2, new Set(['20261101'])));
    assert.equal(await world.redis.exists(runs), 0);
    assert.equal(await world.redis.exists(`${world.names.prefix}:act:{2}:20261104:active:u4`), 0, 'the 4 days to 4 Nov');
    await expectFixtureCounts(bitmaps, 2);
  });

  test('queries leave no scratch keys behind', async () => {
    const [, keys] = await world.redis.scan('0', 'MATCH', `${world.names.prefix}:tmp:*`, 'COUNT', 10_000);
    assert.deepEqual(keys, []);
  });
});

describe('pay orders count once per game, on the day of their first arrival', () => {
  const pay = (game: number, user: string, ts: string, id: string, amount: string) => ({ game, user, type: 'pay', ts, id, amount });
  const login = (game: number, user: string, ts: string) => ({ game, user, type: 'login', ts });

  for (const [label, threshold, game] of [['sets', 1_000_000, 11], ['bitmaps', 0, 12]] as const) {
    test(`an order resent the next day (${label}): revenue and payer stay on the first day`, async () => {
      const store = new ActivityStore(world.redis, world.names, { threshold });
      // Day 1: a pays o1; b logs in. Day 2 (a later batch): the callback of o1 arrives again; b pays o2.
      const first = await store.write(events([pay(game, 'a', '2026-11-01T23:50:00Z', 'o1', '4.99'), login(game, 'b', '2026-11-01T10:00:00Z')]));
      assert.deepEqual([first.newOrders, first.duplicateOrders], [1, 0]);
      const second = await store.write(events([pay(game, 'a', '2026-11-02T00:10:00Z', 'o1', '4.99'), pay(game, 'b', '2026-11-02T09:00:00Z', 'o2', '2.00')]));
      assert.deepEqual([second.newOrders, second.duplicateOrders], [1, 1]);

      assert.deepEqual(await store.revenue(game, '20261101'), { amount: '4.99', units: 49900, orders: 1 });
      assert.deepEqual(await store.revenue(game, '20261102'), { amount: '2', units: 20000, orders: 1 }, 'o1 is not counted again');
      assert.equal(await store.count(game, 'payers', '20261101'), 1);
      assert.equal(await store.count(game, 'payers', '20261102'), 1, 'a is not a payer of day 2');
      assert.equal(await store.count(game, 'active', '20261102'), 1, 'a resent callback is not a’s activity');

      // What the report job's pay task writes for each day (a rerun computes the same).
      assert.deepEqual(await payFigures(store, game, '20261101'), { payers: 1, revenue: '4.9900', payRate: '0.500000', arpu: '2.4950', arppu: '4.9900' });
      assert.deepEqual(await payFigures(store, game, '20261102'), { payers: 1, revenue: '2.0000', payRate: '1.000000', arpu: '2.0000', arppu: '2.0000' });

      // The memory: order → the day that counted it, in the month's hash, with the activity TTL.
      const month = ordersKey(world.names, game, '202611');
      assert.deepEqual(await world.redis.hgetall(month), { o1: '20261101', o2: '20261102' });
      const ttl = await world.redis.ttl(month);
      assert.ok(ttl > 399 * 86_400 && ttl <= 400 * 86_400, `TTL ${ttl}`);

      // Ingesting both days again, in either order, changes nothing.
      const before = await snapshot(world.redis, `${world.names.prefix}:act:{${game}}`);
      assert.ok(Object.keys(before).length > 0, 'the snapshot sees the game\'s keys');
      const again = await store.write(events([pay(game, 'b', '2026-11-02T09:00:00Z', 'o2', '2.00'), pay(game, 'a', '2026-11-02T00:10:00Z', 'o1', '4.99'), pay(game, 'a', '2026-11-01T23:50:00Z', 'o1', '4.99')]));
      assert.deepEqual([again.newOrders, again.duplicateOrders], [0, 3]);
      assert.deepEqual(await snapshot(world.redis, `${world.names.prefix}:act:{${game}}`), before);
    });
  }

  test('across a month boundary, and within one batch the first arrival wins', async () => {
    const store = new ActivityStore(world.redis, world.names);
    const game = 13;
    await store.write(events([pay(game, 'a', '2026-11-30T23:59:00Z', 'm1', '1')]));
    // One batch whose day 2 comes first in the map (c logs in first) but whose o3 arrives on day 1 first.
    const batch = await store.write(events([
      login(game, 'c', '2026-12-02T08:00:00Z'),
      pay(game, 'a', '2026-12-01T00:01:00Z', 'm1', '1'),
      pay(game, 'c', '2026-12-01T12:00:00Z', 'o3', '3'),
      pay(game, 'c', '2026-12-02T12:00:00Z', 'o3', '3'),
    ]));
    assert.deepEqual([batch.newOrders, batch.duplicateOrders], [1, 2]);
    assert.deepEqual(await store.revenue(game, '20261130'), { amount: '1', units: 10000, orders: 1 });
    assert.deepEqual(await store.revenue(game, '20261201'), { amount: '3', units: 30000, orders: 1 });
    assert.deepEqual(await store.revenue(game, '20261202'), { amount: '0', units: 0, orders: 0 });
    assert.equal(await store.count(game, 'payers', '20261202'), 0);
    assert.equal(await store.count(game, 'active', '20261202'), 1, 'c is active on day 2 by its login');
    assert.deepEqual(await world.redis.hgetall(ordersKey(world.names, game, '202612')), { o3: '20261201' });
  });

  test('an order counted by the per-day dedup of older versions is not counted again', async () => {
    const store = new ActivityStore(world.redis, world.names);
    const game = 14;
    const day = new DayKeys(world.names, game, '20261105');
    // What an older version left: the day's order set, revenue and payer.
    await world.redis.sadd(day.orders, 'old1');
    await world.redis.hset(day.pay, 'units', 50000, 'orders', 1);
    const again = await store.write(events([pay(game, 'a', '2026-11-05T10:00:00Z', 'old1', '5')]));
    assert.deepEqual([again.newOrders, again.duplicateOrders], [0, 1]);
    assert.deepEqual(await store.revenue(game, '20261105'), { amount: '5', units: 50000, orders: 1 });
    assert.equal(await store.count(game, 'payers', '20261105'), 1, 'the payer is re-asserted');
    // Now remembered game-wide: a resend the next day is not counted either.
    await store.write(events([pay(game, 'a', '2026-11-06T10:00:00Z', 'old1', '5')]));
    assert.deepEqual(await store.revenue(game, '20261106'), { amount: '0', units: 0, orders: 0 });
  });
});

describe('days whose keys expired are refused, not counted as nobody', () => {
  // "Now" is 2026-11-30: with ttlDays 400, days that started before 2025-10-26 may be gone; with onlineTtlDays 35, before 2026-10-26.
  const now = Date.parse('2026-11-30T12:00:00Z');
  const store = () => new ActivityStore(world.redis, world.names, { ttlDays: 400, onlineTtlDays: 35 });

  test('an old day without keys is gone; written (a late event, a backfill), or inside the window, it is kept', async () => {
    const game = 41;
    // The game's first day: its keys are there (written now, with a fresh TTL), and days before it had nobody.
    await store().write(events([{ game, user: 'first', type: 'login', ts: '2024-06-01T12:00:00Z' }]));
    await store().assertKept(game, ['20240501', '20240531'], 'UTC', 'activity', now);
    await assert.rejects(store().assertKept(game, ['20250101'], 'UTC', 'activity', now), (err: unknown) => {
      assert.ok(isUserError(err) && err.exitCode === 1 && !err.retryable, String(err));
      assert.equal(err.message, 'game 41: no activity left in Redis for 20250101 (keys are kept activity.ttlDays = 400 days after their last write): computing from that day would count nobody');
      return true;
    });
    await assert.rejects(store().assertKept(game, daysEnding('20251020', 30), 'UTC', 'activity', now), /no activity left in Redis for 20250921\.\.20251020 \(30 days\) .*: computing from those days/);
    // Inside the window a missing key means nobody played: never refused.
    await store().assertKept(game, daysEnding('20261129', 30), 'UTC', 'activity', now);
    await store().write(events([{ game, user: 'late', type: 'login', ts: '2025-01-01T12:00:00Z' }]));
    await store().assertKept(game, ['20250101'], 'UTC', 'activity', now);
    await assert.rejects(store().assertKept(game, ['20250101', '20250102'], 'UTC', 'activity', now), /no activity left in Redis for 20250102 \(/, 'only the day still missing');
    // Kept forever: nothing to refuse.
    await new ActivityStore(world.redis, world.names, { ttlDays: 0 }).assertKept(game, ['20250301'], 'UTC', 'activity', now);
    // A game whose first day is unknown (written by a version that did not keep it): nothing refused.
    await world.redis.del(sinceKey(world.names, game));
    await store().assertKept(game, ['20250301'], 'UTC', 'activity', now);
  });

  test("the writer keeps a game's earliest day ever written, whatever order the days come in", async () => {
    const game = 44;
    const since = () => world.redis.get(sinceKey(world.names, game));
    await store().write(events([{ game, user: 'a', type: 'login', ts: '2026-11-10T12:00:00Z' }]));
    assert.equal(await since(), '20261110');
    await store().write(events([{ game, user: 'b', type: 'login', ts: '2026-11-12T12:00:00Z' }, { game, user: 'c', type: 'online', ts: '2026-11-08T12:00:00Z' }]));
    assert.equal(await since(), '20261108');
    await store().write(events([{ game, user: 'd', type: 'pay', ts: '2026-11-20T12:00:00Z', id: 'o1', amount: '1.00' }]));
    assert.equal(await since(), '20261108');
    assert.equal(await world.redis.ttl(sinceKey(world.names, game)), -1, 'kept forever');
  });

  test("where a day starts is the game's zone's: the same day is inside the window in UTC and not in Pacific/Auckland", async () => {
    await store().write(events([{ game: 42, user: 'first', type: 'login', ts: '2025-01-01T12:00:00Z' }]));
    // 400 days after 2025-10-25 18:00 UTC: 2025-10-26 had begun by then in Auckland (UTC+13), not yet in UTC.
    const edge = Date.parse('2025-10-25T18:00:00Z') + 400 * 86_400_000;
    await store().assertKept(42, ['20251026'], 'UTC', 'activity', edge);
    await assert.rejects(store().assertKept(42, ['20251026'], 'Pacific/Auckland', 'activity', edge), /no activity left in Redis for 20251026/);
  });

  test('online buckets have their own, shorter, window', async () => {
    const game = 43;
    await store().write(events([{ game, user: 'first', type: 'login', ts: '2026-09-01T12:00:00Z' }]));
    await assert.rejects(store().assertKept(game, ['20261020'], 'UTC', 'online', now), /game 43: no online buckets left in Redis for 20261020 \(keys are kept activity\.onlineTtlDays = 35 days/);
    await store().assertKept(game, ['20261101'], 'UTC', 'online', now);
    await store().write(events([{ game, user: 'u', type: 'online', ts: '2026-10-20T23:58:00Z' }]));
    await store().assertKept(game, ['20261020'], 'UTC', 'online', now);
  });
});
