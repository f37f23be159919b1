/**
 * gflow on a real Redis Cluster (three masters on loopback, with a password,
 * named by two of them as seeds): every key of a game in one slot; a
 * synthetic studio ingested into the cluster and into the plain Redis gives
 * the same report figures, sets, bitmaps and a game crossing the threshold
 * alike; the report job's own tests pass with GFLOW_REDIS_URL naming the
 * cluster (run end to end through Temporal and slaves); the collector and
 * the runtime configuration work on it; a bad `redis+cluster://` URL is one
 * line naming the setting, an unreachable cluster one line naming it, fast;
 * and a client whose cluster went down is back when the cluster is.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Names } from '../../core/names';
import { synthDays, synthGames, synthJsonChunks, type SynthOptions } from '../../dev/synth';
import { activeFigures, onlineFigures, payFigures, retentionCells } from '../../jobs/report/compute';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis, isCluster, pingRedis, UnreachableError, type Redis } from '../../infra/redis';
import { collectFor, rejectedStreamKey, streamKey } from '../../store/activity/collector';
import { ingestStream, RoutedWriter } from '../../store/activity/ingest';
import { ActivityStore } from '../../store/activity/store';
import { answeredMarker, keySlot } from '../../store/analyses/requests';
import { dataSettings, describeConfig, getConfig, landConfig, setConfig, configHashKey } from '../../store/config/runtime-config';
import { migrate } from '../../store/schema/migrations';
import { assertOneLine, gflow } from '../helpers/cli';
import { deleteKeys, events, MYSQL_URL, REDIS_URL, scanKeys, testPrefix } from '../helpers/data';
import { freePort } from '../helpers/processes';
import { dropAll } from '../helpers/reports';
import { startRedisCluster, startRedisServer, type RedisCluster } from '../helpers/redis-cluster';

const SYNTH: SynthOptions = { games: 3, days: 8, users: 900, seed: 'cluster', firstDay: '20261101' };
/** Game 1 (900 players) crosses it during the week, game 2 (300) near the end, game 3 (100) never: sets, bitmaps and mixed weeks. */
const THRESHOLD = 250;

let cluster: RedisCluster;
/** The same installation's data, one under each prefix: on the cluster and on the plain Redis. */
const onCluster = new Names(testPrefix());
const onPlain = new Names(testPrefix());
const mysql = () => getMysql(MYSQL_URL);
const clusterRedis = (): Redis => getRedis(cluster.url);
const plainRedis = (): Redis => getRedis(REDIS_URL);


async function ingestStudio(redis: Redis, names: Names): Promise<void> {
  // Small batches: several batches per day, each of several games (one pipeline per game on the cluster).
  const report = await ingestStream(Readable.from(synthJsonChunks(SYNTH)), 'synthetic studio', { names, redisFor: () => redis, zoneFor: () => 'UTC', settings: { threshold: THRESHOLD }, batchSize: 2000 });
  assert.equal(report.rejected, 0);
  assert.deepEqual(report.failedGames, {});
}

before(async () => {
  cluster = await startRedisCluster({ password: 'cluster@s3cret' });
  await Promise.all([ingestStudio(clusterRedis(), onCluster), ingestStudio(plainRedis(), onPlain)]);
});

after(async () => {
  try {
    for (const names of [onCluster, onPlain]) await dropAll(mysql(), plainRedis(), names);
  } finally {
    await Promise.all([closeRedis(), closeMysql()]);
    await cluster?.stop();
  }
});

describe('Redis Cluster', () => {
  test('the URL names the cluster: a Cluster client, and its password stays out of messages', async () => {
    assert.match(cluster.url, /^redis\+cluster:\/\/:cluster%40s3cret@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    assert.equal(isCluster(clusterRedis()), true);
    assert.equal(isCluster(plainRedis()), false);
    assert.equal(getRedis(cluster.url), clusterRedis(), 'one client per URL');
    await pingRedis(cluster.url);
    const redis = clusterRedis();
    assert.ok(isCluster(redis));
    assert.equal(redis.nodes('master').length, 3, 'two seeds named, three masters found');
  });

  test("every key of a game is in the game's slot, and the games are spread over the masters", async () => {
    const slotsByGame = new Map<string, Set<number>>();
    const mastersByGame = new Map<string, Set<number>>();
    const untagged: string[] = [];
    for (const port of cluster.ports) {
      for (const key of (await cluster.cli(port, '--scan', '--pattern', `${onCluster.prefix}:*`)).split('\n').filter(Boolean)) {
        const game = /\{(\d+)\}/.exec(key)?.[1];
        if (game === undefined) {
          untagged.push(key);
          continue;
        }
        const slot = Number(await clusterRedis().call('CLUSTER', 'KEYSLOT', key));
        (slotsByGame.get(game) ?? slotsByGame.set(game, new Set()).get(game)!).add(slot);
        (mastersByGame.get(game) ?? mastersByGame.set(game, new Set()).get(game)!).add(port);
      }
    }
    assert.deepEqual([...slotsByGame.keys()].sort(), ['1', '2', '3']);
    for (const [game, slots] of slotsByGame) assert.equal(slots.size, 1, `game ${game}'s keys are in ${slots.size} slots`);
    for (const [game, masters] of mastersByGame) assert.equal(masters.size, 1, `game ${game} on one master`);
    assert.deepEqual(untagged, [], 'nothing but game keys written by ingestion');
    // With 3 games on 3 masters by CRC16, at least two masters hold some: the writer did not rely on one node.
    assert.ok(new Set([...mastersByGame.values()].map((m) => [...m][0])).size >= 2, 'games on more than one master');
  });

  test('the report figures equal those of the same events on a plain Redis: sets, bitmaps, mixed windows', async () => {
    const cluster = new ActivityStore(clusterRedis(), onCluster);
    const plain = new ActivityStore(plainRedis(), onPlain);
    const reprs = new Set<string>();
    for (const { id: game } of synthGames(SYNTH)) {
      for (const day of synthDays(SYNTH)) {
        const repr = await cluster.representation(game, day);
        assert.equal(repr, await plain.representation(game, day), `representation of game ${game} on ${day}`);
        reprs.add(String(repr));
        const figures = (store: ActivityStore) =>
          Promise.all([activeFigures(store, game, day), retentionCells(store, game, day), onlineFigures(store, game, day, 'UTC'), payFigures(store, game, day)]);
        const [got, want] = await Promise.all([figures(cluster), figures(plain)]);
        assert.deepEqual(got, want, `game ${game} on ${day}`);
        if (game === 1) assert.ok(want[0].dau > 0 && want[0].mau >= want[0].wau, `game 1 on ${day} has players`);
      }
    }
    assert.deepEqual([...reprs].sort(), ['bitmap', 'set'], 'both representations covered');
  });

  test("the report job's own tests pass with GFLOW_REDIS_URL naming the cluster (Temporal, slaves, reruns, checks, pub/sub)", async () => {
    const file = resolve(__dirname, 'report-jobs.test.ts');
    // A test runner of its own: node refuses to run test files from within a test file that inherits NODE_TEST_CONTEXT.
    const env: NodeJS.ProcessEnv = { ...process.env, GFLOW_REDIS_URL: cluster.url };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    assert.equal(code, 0, `report-jobs.test.ts on the cluster:\n${output.slice(-6000)}`);
    const count = (what: string) => Number(new RegExp(`ℹ ${what} (\\d+)`).exec(output)?.[1]);
    assert.ok(count('tests') >= 5, `report-jobs.test.ts ran ${count('tests')} tests`);
    assert.deepEqual([count('pass'), count('fail')], [count('tests'), 0]);
  });

  test('the collector drains the stream on the cluster: events written game by game, the malformed copied aside, all acknowledged', async () => {
    const redis = clusterRedis();
    const key = streamKey(onCluster, 'events');
    const ts = Math.floor(Date.UTC(2026, 10, 20, 12) / 1000);
    const good = [11, 12, 13, 14].flatMap((game) => ['a', 'b', 'c'].map((user) => ({ game, user, type: 'login', ts })));
    for (const e of good) await redis.xadd(key, '*', 'event', JSON.stringify(e));
    await redis.xadd(key, '*', 'event', '{"game":11,"user":"u","type":"teleport","ts":1764000000}');
    const result = await collectFor(
      { redis, names: onCluster, stream: 'events', group: 'gflow', consumer: 'c1', writer: new RoutedWriter(onCluster, () => redis), zoneFor: () => 'UTC' },
      10_000,
    );
    assert.deepEqual({ written: result.written, rejected: result.rejected, retry: result.retry, acked: result.acked }, { written: 12, rejected: 1, retry: 0, acked: 13 });
    const store = new ActivityStore(redis, onCluster);
    for (const game of [11, 12, 13, 14]) assert.equal(await store.count(game, 'active', '20261120'), 3, `game ${game}`);
    assert.equal(Number(((await redis.call('XPENDING', key, 'gflow')) as unknown[])[0]), 0, 'nothing left pending');
    assert.equal(await redis.xlen(rejectedStreamKey(onCluster, 'events')), 1);
    // Written again (a collector that died before XACK): nothing counts twice.
    await store.write(events(good));
    for (const game of [11, 12, 13, 14]) assert.equal(await store.count(game, 'active', '20261120'), 3);
  });

  test('the runtime configuration lives on the cluster: set, get, read by the data plane, landed in MySQL, restored after a flush', async () => {
    const redis = clusterRedis();
    await migrate(mysql(), onCluster);
    await setConfig(redis, onCluster, 'activity.threshold', '123');
    await setConfig(redis, onCluster, 'report.note', 'on the cluster');
    assert.equal(await getConfig(redis, onCluster, 'activity.threshold'), '123');
    assert.equal((await dataSettings(redis, onCluster)).activity.threshold, 123);
    assert.deepEqual(
      (await describeConfig(redis, onCluster)).filter((e) => e.source === 'redis').map((e) => [e.key, e.value]),
      [
        ['activity.threshold', '123'],
        ['report.note', 'on the cluster'],
      ],
    );
    assert.deepEqual(await landConfig(redis, mysql(), onCluster), { landed: ['activity.threshold', 'report.note'], restored: [] });
    await redis.del(configHashKey(onCluster));
    assert.deepEqual(await landConfig(redis, mysql(), onCluster), { landed: [], restored: ['activity.threshold', 'report.note'] });
    assert.equal(await getConfig(redis, onCluster, 'report.note'), 'on the cluster');
  });

  test('gflow config on the cluster: set and get through the CLI, which exits once done', async () => {
    const env = { ...process.env, GFLOW_PREFIX: onCluster.prefix, GFLOW_REDIS_URL: cluster.url, GFLOW_CONFIG: '', GFLOW_TZ: '' };
    const set = await gflow(['config', 'set', 'activity.bucketMinutes', '10'], env);
    assert.equal(set.code, 0, set.stderr);
    const get = await gflow(['config', 'get', 'activity.bucketMinutes'], env);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /\b10\b/);
    assert.equal(await getConfig(clusterRedis(), onCluster, 'activity.bucketMinutes'), '10');
  });

  test('an installation in the layout before hash tags, on one Redis: renamed in place and imported into the cluster (docs/architecture.md), it reads as before', async () => {
    const source = await startRedisServer();
    const legacy = new Names(testPrefix());
    const day = synthDays(SYNTH).at(-1)!;
    try {
      const redis = getRedis(source.url);
      await ingestStudio(redis, legacy);
      // What an older gflow wrote: the same keys without the braces (`act:7:…`, `uidx:7`).
      for await (const keys of scanKeys(redis, `${legacy.prefix}:*`)) {
        for (const key of keys) await redis.rename(key, key.replace(/^([^:]+:(?:act|uidx):)\{(\d+)\}/, '$1$2'));
      }
      assert.equal(await new ActivityStore(redis, legacy).count(1, 'active', day), 0, 'this gflow does not see the old layout');

      // The two commands of docs/architecture.md "Redis Cluster", as an operator runs them.
      const sh = async (command: string) => {
        const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        assert.equal(await new Promise((r) => child.once('close', r)), 0, `${command}:\n${output}`);
        return output;
      };
      const P = legacy.prefix;
      const renamed = await sh(
        `redis-cli -u ${source.url} --scan --pattern '${P}:*' | sed -nE 's/^(${P}:(act|uidx):)([0-9]+)((:.*)?)$/RENAME \\1\\3\\4 \\1{\\3}\\4/p' | redis-cli -u ${source.url} --pipe`,
      );
      assert.match(renamed, /errors: 0, replies: [1-9]/);
      const plain = new ActivityStore(plainRedis(), onPlain);
      assert.deepEqual(await activeFigures(new ActivityStore(redis, legacy), 1, day), await activeFigures(plain, 1, day), 'renamed in place, read as before');

      await sh(`redis-cli -a '${cluster.password}' --no-auth-warning --cluster import 127.0.0.1:${cluster.ports[0]} --cluster-from 127.0.0.1:${source.port} --cluster-copy`);
      const imported = new ActivityStore(clusterRedis(), legacy);
      for (const { id: game } of synthGames(SYNTH)) {
        const figures = (store: ActivityStore) => Promise.all([activeFigures(store, game, day), retentionCells(store, game, day), payFigures(store, game, day)]);
        assert.deepEqual(await figures(imported), await figures(plain), `game ${game} on the cluster`);
      }
    } finally {
      await source.stop();
    }
  });

  test("the request stream's keySlot is the cluster's own CLUSTER KEYSLOT, where ioredis's cluster-key-slot is not: a push-once marker shares its reply key's slot", async () => {
    // `foo{}{bar}`: Redis hashes it whole (its first tag is empty); cluster-key-slot hashes `bar`. That is why requests.ts has its own CRC16.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const packaged = require('cluster-key-slot') as (key: string) => number;
    assert.notEqual(packaged('foo{}{bar}'), Number(await cluster.cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', 'foo{}{bar}')), 'the edge the package gets wrong');
    for (const key of ['app:answers:42', 'foo{}{bar}', '{}foo', 'a}b{c', '{user1000}.following', 'é:ü:{答え}', 'x{']) {
      const slot = Number(await cluster.cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key));
      assert.equal(keySlot(key), slot, key);
      assert.equal(Number(await cluster.cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', answeredMarker(onCluster, '1700000000000-0', key))), slot, `marker of ${key}`);
    }
  });

  test('a bad redis+cluster:// URL is one line: the setting, where it was set, what is wrong, what is accepted', async () => {
    const env = (url: string) => ({ ...process.env, GFLOW_PREFIX: onCluster.prefix, GFLOW_REDIS_URL: url, GFLOW_CONFIG: '', GFLOW_TZ: '' });
    assertOneLine(
      await gflow(['config', 'get', 'activity.threshold'], env('redis+cluster://:pw@127.0.0.1:7000,,127.0.0.1:7001')),
      2,
      /^gflow: invalid setting redisUrl in environment GFLOW_REDIS_URL: a seed node is empty \(two commas, or one at an end\); use redis:\/\/host:port .* or redis\+cluster:\/\/host:port,host:port… .*, nothing else$/,
    );
    assertOneLine(await gflow(['config', 'get', 'activity.threshold'], env('redis+cluster://127.0.0.1:7000/3')), 2, /GFLOW_REDIS_URL: the path "\/3" is not allowed: a Redis Cluster has only database 0/);
  });

  // The reason named is the socket's refusal, not a time-out: the fast path. The test's time-out only stops a hang.
  test('an unreachable cluster is named at once, password hidden: in one line by the CLI, as UnreachableError in code', { timeout: 60_000 }, async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const dead = `redis+cluster://:hidden@127.0.0.1:${p1},127.0.0.1:${p2}`;
    const shown = new RegExp(`Redis at redis\\+cluster://:\\*\\*\\*@127\\.0\\.0\\.1:${p1},127\\.0\\.0\\.1:${p2} is unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${p1}`);
    const cli = await gflow(['config', 'get', 'activity.threshold'], { ...process.env, GFLOW_PREFIX: onCluster.prefix, GFLOW_REDIS_URL: dead, GFLOW_CONFIG: '', GFLOW_TZ: '' });
    assertOneLine(cli, 1, shown);
    assert.doesNotMatch(cli.stderr, /hidden/);

    await assert.rejects(new ActivityStore(getRedis(dead), onCluster).count(1, 'active', '20261101'), (err: unknown) => {
      assert.ok(err instanceof UnreachableError, String(err));
      assert.match(err.message, shown);
      assert.equal(err.retryable, true, 'an activity retries: the cluster may be back');
      return true;
    });
    await assert.rejects(getRedis(dead).pipeline().get(onCluster.gameKey('act', 1, 'x')).exec(), shown, 'a pipeline too');
  });

  test('a cluster that goes down fails commands fast, naming it; the same client is back once the cluster is', { timeout: 120_000 }, async () => {
    const redis = clusterRedis();
    const store = new ActivityStore(redis, onCluster);
    await cluster.kill();
    await assert.rejects(store.count(11, 'active', '20261120'), (err: unknown) => err instanceof UnreachableError && /^Redis at redis\+cluster:\/\/:\*\*\*@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ is unreachable: connect ECONNREFUSED/.test(err.message));
    await cluster.restart();
    // The nodes kept no data (no persistence in tests), but the cluster and the client are whole again.
    await store.write(events([{ game: 11, user: 'back', type: 'login', ts: '2026-11-20T12:00:00Z' }]));
    assert.equal(await store.count(11, 'active', '20261120'), 1);
    assert.equal(getRedis(cluster.url), redis, 'the same pooled client');
    // Leave nothing for the next test file: the cluster is stopped in after(); the plain Redis is cleaned there too.
    let left = 0;
    for await (const keys of scanKeys(redis, `${onCluster.prefix}:*`)) left += keys.length;
    assert.ok(left > 0);
    assert.ok((await deleteKeys(redis, `${onCluster.prefix}:*`)) > 0);
  });
});
