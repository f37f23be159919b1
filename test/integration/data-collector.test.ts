/**
 * The stream collector: two collector processes are SIGKILLed mid-batch
 * (one half way through its write, one between write and XACK); a third
 * re-claims their pending messages with XAUTOCLAIM. Final counts are exact:
 * nothing lost, nothing counted twice, revenue included. The collector
 * trims the stream of what every group acknowledged, never what another
 * group has not.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityStore } from '../../store/activity/store';
import { collectBatch, collectFor, rejectedStreamKey, streamKey } from '../../store/activity/collector';
import { ensureGroup } from '../../store/stream-groups';
import { RoutedWriter } from '../../store/activity/ingest';
import { getRedis } from '../../infra/redis';
import { dataWorld } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

const CHILD = resolve(__dirname, '../helpers/data-collector-child.ts');
const DAY_TS = Date.UTC(2026, 10, 24, 6) / 1000;

/** 300 events of game 4 on 24 Nov 2026: logins, registers, and pays whose order ids repeat. */
function generate() {
  return Array.from({ length: 300 }, (_, i) => {
    const base = { game: 4, user: `u${i % 120}`, ts: DAY_TS + i };
    if (i % 10 === 0) return { ...base, type: 'pay', id: `o${i % 50}`, amount: '1.5' };
    if (i % 7 === 0) return { ...base, type: 'register' };
    return { ...base, type: 'login' };
  });
}

function runChild(args: object): Promise<NodeJS.Signals | null> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('exit', (_code, signal) => done(signal));
  });
}

describe('stream collector', () => {
  const stream = 'events';
  const group = 'collectors';

  test('collectors killed mid-batch lose nothing and count nothing twice', async () => {
    const key = streamKey(world.names, stream);
    await ensureGroup(world.redis, key, group);
    const fixture = generate();
    const pipeline = world.redis.pipeline();
    for (const e of fixture) pipeline.xadd(key, '*', 'event', JSON.stringify(e));
    pipeline.xadd(key, '*', 'event', '{"game":4,"user":"x","type":"teleport","ts":1}');
    pipeline.xadd(key, '*', 'payload', 'no event field');
    await pipeline.exec();

    const common = { prefix: world.names.prefix, stream, group, count: 100 };
    assert.equal(await runChild({ ...common, consumer: 'dies-mid-write', die: 'mid-write' }), 'SIGKILL');
    assert.equal(await runChild({ ...common, consumer: 'dies-before-ack', die: 'before-ack' }), 'SIGKILL');
    const [pending] = (await world.redis.xpending(key, group)) as [number];
    assert.equal(pending, 200, 'both dead collectors left their batch pending');

    const survivor = {
      redis: world.redis, names: world.names, stream, group, consumer: 'survivor', count: 100, minIdleMs: 0,
      writer: new RoutedWriter(world.names, () => world.redis), zoneFor: () => 'UTC',
    };
    const total = await collectFor(survivor, 60_000);
    assert.equal(total.claimed, 200, 're-claimed the dead collectors\' messages');
    assert.equal(total.rejected, 2);
    assert.equal(total.acked, 302);
    assert.equal(((await world.redis.xpending(key, group)) as [number])[0], 0, 'nothing pending');

    const users = new Set(fixture.map((e) => e.user));
    const registered = new Set(fixture.filter((e) => e.type === 'register').map((e) => e.user));
    const payers = new Set(fixture.filter((e) => e.type === 'pay').map((e) => e.user));
    const orders = new Set(fixture.filter((e) => e.type === 'pay').map((e) => (e as { id: string }).id));
    const store = new ActivityStore(world.redis, world.names);
    assert.equal(await store.count(4, 'active', '20261124'), users.size);
    assert.equal(await store.count(4, 'new', '20261124'), registered.size);
    assert.equal(await store.count(4, 'payers', '20261124'), payers.size);
    assert.deepEqual(await store.revenue(4, '20261124'), { amount: String(orders.size * 1.5), units: orders.size * 15000, orders: orders.size });

    const dead = (await world.redis.xrange(rejectedStreamKey(world.names, stream), '-', '+')).map(([, f]) => f[f.indexOf('reason') + 1]);
    assert.deepEqual(dead.sort(), ['no field "event"', 'unknown type "teleport": use register, login, online, pay']);
  });

  test('the collector trims what every group has acknowledged; a foreign group keeps what it has not', async () => {
    const key = streamKey(world.names, 'trimmed');
    await ensureGroup(world.redis, key, group);
    // Another team's consumer on the same stream, reading at its own pace.
    await ensureGroup(world.redis, key, 'other-team');
    const pipeline = world.redis.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.xadd(key, '*', 'event', JSON.stringify({ game: 5, user: `u${i}`, type: 'login', ts: DAY_TS + i }));
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => String(id));
    const collector = {
      redis: world.redis, names: world.names, stream: 'trimmed', group, consumer: 'c1', count: 250, minIdleMs: 3_600_000,
      writer: new RoutedWriter(world.names, () => world.redis), zoneFor: () => 'UTC',
    };
    const kept = async () => (await world.redis.xrange(key, '-', '+')).map(([id]) => id);

    assert.equal((await collectFor(collector, 60_000)).acked, 1000);
    assert.equal(await new ActivityStore(world.redis, world.names).count(5, 'active', '20261124'), 1000);
    assert.deepEqual(await kept(), ids, 'all kept: the other team has read none');

    // They read everything and acknowledged 600: the 400 pending with them stay, most of the 600 go (whole nodes, approximate).
    const read = (await world.redis.call('XREADGROUP', 'GROUP', 'other-team', 'them', 'COUNT', 2000, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]>;
    assert.equal(read[0]![1].length, 1000);
    await world.redis.xack(key, 'other-team', ...ids.slice(0, 600));
    // Nothing new to collect: the collector trims all the same.
    assert.equal((await collectFor(collector, 60_000)).messages, 0);
    const left = await kept();
    assert.deepEqual(left.slice(-400), ids.slice(600), 'every entry the other team has pending stays');
    assert.deepEqual(left, ids.slice(1000 - left.length), 'only the oldest went');
    assert.ok(left.length < 500, `${left.length} entries left: at most a node of the consumed ones more than the 400 pending`);

    await world.redis.xack(key, 'other-team', ...ids.slice(600));
    await collectFor(collector, 60_000);
    assert.ok((await world.redis.xlen(key)) < 100, 'consumed by both groups: trimmed but for a node');
    assert.equal(await new ActivityStore(world.redis, world.names).count(5, 'active', '20261124'), 1000, 'the events were written before');
  });

  test("with keepMs, what every group read is kept that long: a job's group created after the collectors finds it", async () => {
    const key = streamKey(world.names, 'kept');
    const pipeline = world.redis.pipeline();
    for (let i = 0; i < 300; i++) pipeline.xadd(key, '*', 'event', JSON.stringify({ game: 6, user: `u${i}`, type: 'login', ts: DAY_TS + i }));
    await pipeline.exec();
    const collector = {
      redis: world.redis, names: world.names, stream: 'kept', group, consumer: 'c1', count: 100, minIdleMs: 3_600_000, keepMs: 3_600_000,
      writer: new RoutedWriter(world.names, () => world.redis), zoneFor: () => 'UTC',
    };
    assert.equal((await collectFor(collector, 60_000)).acked, 300);
    assert.equal(await world.redis.xlen(key), 300, 'read by the only group, but less than an hour old: kept');
    // A job started now: its group, made at the start of what the stream holds, reads all 300.
    await ensureGroup(world.redis, key, 'late-job');
    const read = (await world.redis.call('XREADGROUP', 'GROUP', 'late-job', 'j', 'COUNT', 1000, 'STREAMS', key, '>')) as Array<[string, unknown[]]>;
    assert.equal(read[0]![1].length, 300);
  });

  test('a long drain trims as it goes, not only at the end', async () => {
    const key = streamKey(world.names, 'long');
    await ensureGroup(world.redis, key, group);
    const events = 150_000;
    for (let i = 0; i < events; i += 10_000) {
      const pipeline = world.redis.pipeline();
      for (let j = i; j < i + 10_000; j++) pipeline.xadd(key, '*', 'event', JSON.stringify({ game: 6, user: `u${j % 5000}`, type: 'login', ts: DAY_TS }));
      await pipeline.exec();
    }
    // The stream's length as each batch is written (before its acknowledgement).
    const lengths: number[] = [];
    const total = await collectFor(
      {
        redis: world.redis, names: world.names, stream: 'long', group, consumer: 'c1', count: 5000, minIdleMs: 3_600_000,
        writer: new RoutedWriter(world.names, () => world.redis), zoneFor: () => 'UTC',
        onWritten: async () => void lengths.push(await world.redis.xlen(key)),
      },
      600_000,
    );
    assert.equal(total.acked, events);
    // At the latest once 100,000 were acknowledged (or 2 s went by), what they were left the stream while the rest was collected.
    assert.ok(Math.min(...lengths) <= events - 90_000, `lengths seen while collecting: ${lengths.join(', ')}`);
    assert.ok((await world.redis.xlen(key)) < 100);
  });

  test('a game whose Redis is unreachable stays pending; the others are acknowledged', async () => {
    const key = streamKey(world.names, 'isolated');
    await ensureGroup(world.redis, key, group);
    await world.redis.xadd(key, '*', 'event', JSON.stringify({ game: 21, user: 'a', type: 'login', ts: DAY_TS }));
    await world.redis.xadd(key, '*', 'event', JSON.stringify({ game: 99, user: 'b', type: 'login', ts: DAY_TS }));
    const down = getRedis('redis://127.0.0.1:1', { failFast: true });
    const result = await collectBatch({
      redis: world.redis, names: world.names, stream: 'isolated', group, consumer: 'c1', minIdleMs: 3_600_000,
      writer: new RoutedWriter(world.names, (game) => (game === 99 ? down : world.redis)), zoneFor: () => 'UTC',
    });
    assert.deepEqual({ written: result.written, retry: result.retry, acked: result.acked }, { written: 1, retry: 1, acked: 1 });
    assert.equal(((await world.redis.xpending(key, group)) as [number])[0], 1);
    assert.equal(await new ActivityStore(world.redis, world.names).count(21, 'active', '20261124'), 1);
  });
});
