/**
 * Trimming a stream of what every consumer group has consumed
 * (store/stream-groups.ts), against the real Redis: acknowledged entries
 * go; an entry pending in any group, never delivered to one, or pending in
 * a foreign group (another team's on the same stream) stays; a stream
 * without groups, or gone, is left alone, and so is one whose group goes
 * between the reads; ids compare as numbers; the approximate trim frees
 * whole nodes and never more.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compareStreamIds, consumedBelow, ensureGroup, groupBound, nextStreamId, streamGroups, trimConsumed } from '../../store/stream-groups';
import { dataWorld } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

let streams = 0;
/** A fresh stream key under the test's prefix (the cleanup drops it). */
const freshKey = () => world.names.redisKey('test', 'trim', ++streams);

/** XADD `count` entries (explicit ids when given); their ids in order. */
async function fill(key: string, count: number, ids?: readonly string[]): Promise<string[]> {
  const pipeline = world.redis.pipeline();
  for (let i = 0; i < count; i++) pipeline.xadd(key, ids?.[i] ?? '*', 'n', String(i));
  return ((await pipeline.exec()) ?? []).map(([err, id]) => {
    if (err) throw err;
    return String(id);
  });
}

/** Group `group` reads up to `count` new entries as consumer `c`; their ids. */
async function read(key: string, group: string, count: number): Promise<string[]> {
  const reply = (await world.redis.call('XREADGROUP', 'GROUP', group, 'c', 'COUNT', count, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]> | null;
  return reply === null ? [] : reply[0]![1].map(([id]) => id);
}

async function ack(key: string, group: string, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await world.redis.xack(key, group, ...ids);
}

async function kept(key: string): Promise<string[]> {
  return (await world.redis.xrange(key, '-', '+')).map(([id]) => id);
}

describe('stream ids', () => {
  test('compare as numbers, time then sequence; the next id follows the sequence, then the millisecond', () => {
    assert.ok(compareStreamIds('9-0', '10-0') < 0, '9-0 before 10-0 (a string compare says otherwise)');
    assert.ok(compareStreamIds('5-9', '5-10') < 0);
    assert.ok(compareStreamIds('1700000000000-3', '1700000000000-3') === 0);
    assert.ok(compareStreamIds('18446744073709551615-0', '18446744073709551614-18446744073709551615') > 0, 'beyond 2^53');
    assert.equal(nextStreamId('0-0'), '0-1');
    assert.equal(nextStreamId('1700000000000-41'), '1700000000000-42');
    assert.equal(nextStreamId('7-18446744073709551615'), '8-0');
    assert.throws(() => compareStreamIds('abc', '1-0'), /not a stream entry id/);
  });
});

describe('trimConsumed', () => {
  test('a stream without consumer groups is never trimmed; one that does not exist is not created', async () => {
    const key = freshKey();
    const ids = await fill(key, 20);
    assert.equal(await consumedBelow(world.redis, key), undefined);
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 0);
    assert.deepEqual(await kept(key), ids);

    const gone = freshKey();
    assert.equal(await trimConsumed(world.redis, gone), 0);
    assert.equal(await world.redis.exists(gone), 0);
  });

  test('acknowledged entries go; the oldest pending one and everything after it stay', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'g');
    const ids = await fill(key, 10);
    assert.deepEqual(await read(key, 'g', 6), ids.slice(0, 6));
    // 0-2 acknowledged, 3 pending, 4 acknowledged (after a pending one: still kept), 5 pending, 6-9 never delivered.
    await ack(key, 'g', [...ids.slice(0, 3), ids[4]!]);
    assert.equal(await consumedBelow(world.redis, key), ids[3]);
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 3);
    assert.deepEqual(await kept(key), ids.slice(3));

    // Nothing pending any more: up to the last delivered entry goes, the never-delivered stay.
    await ack(key, 'g', [ids[3]!, ids[5]!]);
    assert.equal(await consumedBelow(world.redis, key), nextStreamId(ids[5]!));
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 3);
    assert.deepEqual(await kept(key), ids.slice(6));

    // Again: nothing more to trim.
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 0);
    assert.deepEqual(await kept(key), ids.slice(6));
  });

  test('a foreign group keeps what it has not acknowledged, pending or never delivered to it', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'ours');
    await ensureGroup(world.redis, key, 'theirs');
    const ids = await fill(key, 8);
    await ack(key, 'ours', await read(key, 'ours', 100));

    // They have read nothing: everything stays.
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 0);
    assert.deepEqual(await kept(key), ids);

    // They read four and acknowledged the first two: the third, pending with them, is where trimming stops.
    assert.deepEqual(await read(key, 'theirs', 4), ids.slice(0, 4));
    await ack(key, 'theirs', ids.slice(0, 2));
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 2);
    assert.deepEqual(await kept(key), ids.slice(2));

    // A third group, made at the stream's beginning and idle, holds everything left.
    await world.redis.call('XGROUP', 'CREATE', key, 'late', '0');
    await ack(key, 'theirs', await read(key, 'theirs', 100));
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 0);
    assert.deepEqual(await kept(key), ids.slice(2));
  });

  test('a group made with $ never wants what came before it; one at 0-0 wants it all', async () => {
    const key = freshKey();
    const before = await fill(key, 5);
    await world.redis.call('XGROUP', 'CREATE', key, 'from-now', '$');
    const afterwards = await fill(key, 3);
    assert.equal(await consumedBelow(world.redis, key), nextStreamId(before[4]!));
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 5);
    assert.deepEqual(await kept(key), afterwards);

    // An empty stream with a group at 0-0 (MKSTREAM), then entries: none delivered, none trimmed.
    const empty = freshKey();
    await ensureGroup(world.redis, empty, 'g');
    assert.equal(await trimConsumed(world.redis, empty, { exact: true }), 0);
    assert.equal(await world.redis.exists(empty), 1, 'the empty stream and its group stay');
    const ids = await fill(empty, 4);
    assert.equal(await consumedBelow(world.redis, empty), '0-1');
    assert.equal(await trimConsumed(world.redis, empty, { exact: true }), 0);
    assert.deepEqual(await kept(empty), ids);
  });

  test('the bound is the least over the groups by number, not by text', async () => {
    const key = freshKey();
    const ids = await fill(key, 3, ['9-0', '10-0', '100-0']);
    await ensureGroup(world.redis, key, 'a');
    await ensureGroup(world.redis, key, 'b');
    // a: 9-0 and 10-0 acknowledged, 100-0 pending (bound "100-0"); b: 9-0 acknowledged, nothing pending (bound "9-1").
    assert.deepEqual(await read(key, 'a', 3), ids);
    await ack(key, 'a', ['9-0', '10-0']);
    assert.deepEqual(await read(key, 'b', 1), ['9-0']);
    await ack(key, 'b', ['9-0']);
    // As text "100-0" < "9-1", which would take 10-0 from b before it read it.
    assert.equal(await consumedBelow(world.redis, key), '9-1');
    assert.equal(await trimConsumed(world.redis, key, { exact: true }), 1);
    assert.deepEqual(await kept(key), ['10-0', '100-0']);
  });

  test('the approximate trim frees whole nodes of what was consumed, however many, and nothing after it', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'g');
    // More than Redis's default LIMIT for `~` (100 nodes, about 10,000 entries) would let one XTRIM free.
    const ids = await fill(key, 25_000);
    const consumed = await read(key, 'g', 20_000);
    await ack(key, 'g', consumed);
    const removed = await trimConsumed(world.redis, key);
    const left = await kept(key);
    // A node holds at most `stream-node-max-entries` (100 by default) entries: what stays of the consumed is under a node.
    assert.ok(removed > 19_000, `removed ${removed} of the 20,000 consumed`);
    assert.equal(removed + left.length, 25_000);
    assert.deepEqual(left.slice(-5000), ids.slice(20_000), 'every unconsumed entry stays');
    assert.deepEqual(left, ids.slice(25_000 - left.length), 'only the oldest went');
  });

  test('a backlog is freed in steps of at most `step` entries, one XTRIM each, to the same end', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'g');
    const ids = await fill(key, 25_000);
    await ack(key, 'g', await read(key, 'g', 20_000));
    const calls = async () => Number(/cmdstat_xtrim:calls=(\d+)/.exec(String(await world.redis.info('commandstats')))?.[1] ?? 0);
    const before = await calls();
    const removed = await trimConsumed(world.redis, key, { step: 2_000 });
    // Other tests may trim meanwhile: they can only add calls.
    assert.ok((await calls()) - before >= 10, `${(await calls()) - before} XTRIM calls for ${removed} entries in steps of 2,000`);
    assert.ok(removed > 19_000, `removed ${removed}`);
    assert.deepEqual((await kept(key)).slice(-5000), ids.slice(20_000), 'every unconsumed entry stays');
  });

  test('keepMs keeps what every group read but arrived within it: ids are arrival times', async () => {
    const key = freshKey();
    const now = Date.now();
    const [hourAgo, minuteAgo] = [now - 3_600_000, now - 60_000];
    const ids = await fill(key, 4, [`${hourAgo}-0`, `${hourAgo}-1`, `${minuteAgo}-0`, `${minuteAgo}-1`]);
    await ensureGroup(world.redis, key, 'g');
    await ack(key, 'g', await read(key, 'g', 10));
    assert.equal(await trimConsumed(world.redis, key, { keepMs: 30 * 60_000, exact: true }, now), 2);
    assert.deepEqual(await kept(key), ids.slice(2), 'the last half hour stays, read or not');
    assert.equal(await trimConsumed(world.redis, key, { keepMs: 0, exact: true }, now), 2, 'keepMs 0: all that was read goes');
    // Never past what a group has not read, however old.
    const old = await fill(key, 2, [`${minuteAgo}-5`, `${minuteAgo}-6`]);
    assert.equal(await trimConsumed(world.redis, key, { keepMs: 1, exact: true }, now), 0);
    assert.deepEqual(await kept(key), old);
  });

  test('a stream deleted before the reads is left alone; a key of another type is refused', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'g');
    await fill(key, 3);
    await world.redis.del(key);
    assert.equal(await trimConsumed(world.redis, key), 0);
    assert.equal(await world.redis.exists(key), 0);

    await world.redis.set(key, 'not a stream');
    await assert.rejects(trimConsumed(world.redis, key), /WRONGTYPE/);
    assert.equal(await world.redis.get(key), 'not a stream');
  });

  test('a group destroyed, or its stream deleted, between XINFO GROUPS and its XPENDING gives no bound: nothing is guessed', async () => {
    const key = freshKey();
    await ensureGroup(world.redis, key, 'g');
    await ensureGroup(world.redis, key, 'other');
    const ids = await fill(key, 4);
    assert.deepEqual(await read(key, 'g', 3), ids.slice(0, 3));
    await ack(key, 'g', ids.slice(0, 1));
    // consumedBelow's first read: g with two pending (XPENDING is asked for its oldest), other with none.
    const groups = await streamGroups(world.redis, key);
    assert.deepEqual(groups, [
      { name: 'g', lastDeliveredId: ids[2], pending: 2 },
      { name: 'other', lastDeliveredId: '0-0', pending: 0 },
    ]);
    const g = groups[0]!;
    assert.equal(await groupBound(world.redis, key, g), ids[1]);

    // The group goes before its XPENDING (NOGROUP): no bound, rather than the last-delivered-id read before it.
    await world.redis.call('XGROUP', 'DESTROY', key, 'g');
    assert.equal(await groupBound(world.redis, key, g), undefined);
    // The stream goes (NOGROUP too).
    await world.redis.del(key);
    assert.equal(await groupBound(world.redis, key, g), undefined);
    assert.equal(await streamGroups(world.redis, key), undefined);
    // Any other error is no missing group: thrown.
    await world.redis.set(key, 'not a stream');
    await assert.rejects(groupBound(world.redis, key, g), /WRONGTYPE/);
  });
});
