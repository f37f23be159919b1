/**
 * The example job jobs/examples/channels.ts, for real: its table created by
 * its declared migration, events XADDed to the stream as game servers send
 * them, `channels.tally` fired through its schedule on a real slave, and
 * `channels.daily` rerun over two days. Every row is checked against counts
 * the test works out on its own from the events (each game's local day, sets
 * of users); a game in another zone and a game with its own Redis are
 * counted in their own days and Redis; `-c` recomputes one channel only.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DateTime } from 'luxon';
import type { RowDataPacket } from 'mysql2/promise';
import type { Redis } from '../../infra/redis';
import type { RunFilters } from '../../core/job';
import { addGame, validateGame } from '../../store/games/registry';
import { sqlId } from '../../store/identifiers';
import { migrate } from '../../store/schema/migrations';
import { JobControl } from '../../client/control';
import { planRerun, startRerun } from '../../client/reruns';
import { loadJobs } from '../../infra/jobs';
import { getMysql } from '../../infra/mysql';
import { getRedis } from '../../infra/redis';
import type { RerunResult } from '../../workflows/rerun';
import { deleteKeys } from '../helpers/data';
import { withSlaves } from '../helpers/slaves';
import { until } from '../helpers/until';
import { startStack, stopStack, type TestStack } from '../helpers/stack';

const EXAMPLES = resolve(__dirname, '../../jobs/examples');
const registry = loadJobs(EXAMPLES);
const DAYS = ['20261109', '20261110'];
/** Game 1 counts UTC days, game 2 Shanghai days (UTC+8), game 3 UTC days in its own Redis (database 3). Game 99 is not registered. */
const ZONES: Record<number, string> = { 1: 'UTC', 2: 'Asia/Shanghai', 3: 'UTC' };

let stack: TestStack | undefined;
const mysql = () => getMysql(stack!.config.mysqlUrl);
const redis = () => getRedis(stack!.config.redisUrl);
/** Game 3's own Redis: the same server, database 3. */
let ownUrl: string;
const own = (): Redis => getRedis(ownUrl);

type Event = { game: number; user: string; type: string; ts: string; channel?: string; id?: string; amount?: string };

/** Registrations and payments over the two days and their edges, with duplicates, other types, no channel, a bad message. */
function fixture(): Event[] {
  const out: Event[] = [];
  const e = (game: number, user: string, type: string, ts: string, channel?: string, extra: Partial<Event> = {}) =>
    out.push({ game, user, type, ts, ...(channel !== undefined && { channel }), ...extra });
  for (const game of [1, 2, 3]) {
    e(game, 'a', 'register', '2026-11-09T10:00:00Z', 'ads');
    e(game, 'a', 'register', '2026-11-09T10:00:00Z', 'ads'); // sent twice: one user
    e(game, 'b', 'register', '2026-11-09T12:00:00Z', 'ads');
    e(game, 'c', 'register', '2026-11-09T20:00:00Z', 'store'); // Shanghai: already 10 Nov
    e(game, 'd', 'register', '2026-11-09T23:30:00Z'); // no channel; Shanghai: 10 Nov
    e(game, 'e', 'register', '2026-11-10T01:00:00Z', 'Ads'); // another channel than 'ads'
    e(game, 'f', 'register', '2026-11-10T15:59:59Z', 'ads'); // Shanghai: 10 Nov 23:59:59
    e(game, 'g', 'register', '2026-11-10T16:00:00Z', 'ads'); // Shanghai: 11 Nov, out of range
    e(game, 'h', 'register', '2026-11-10T23:00:00Z', 'store:eu'); // a colon in the channel
    e(game, 'i', 'register', '2026-11-10T09:00:00Z', 'friends ');
    e(game, 'a', 'pay', '2026-11-09T11:00:00Z', 'ads', { id: `o1-${game}`, amount: '4.99' });
    e(game, 'a', 'pay', '2026-11-09T11:05:00Z', 'ads', { id: `o2-${game}`, amount: '1' }); // a second order, the same payer
    e(game, 'c', 'pay', '2026-11-10T02:00:00Z', 'store', { id: `o3-${game}`, amount: '10' });
    e(game, 'b', 'pay', '2026-11-10T03:00:00Z', 'store', { id: `o4-${game}`, amount: '2' }); // pays in another channel than he came from
    e(game, 'x', 'login', '2026-11-10T03:00:00Z', 'ads'); // neither new nor paying
    e(game, 'y', 'online', '2026-11-10T03:00:00Z', 'ads');
  }
  e(99, 'z', 'register', '2026-11-10T03:00:00Z', 'ads');
  return out;
}

/** The rows `daily` must write, worked out from the events alone: distinct users per game, local day, channel and kind. */
function expectedRows(events: readonly Event[], channel?: string): string[] {
  const sets = new Map<string, { new: Set<string>; payers: Set<string> }>();
  for (const ev of events) {
    const zone = ZONES[ev.game];
    const kind = ev.type === 'register' ? 'new' : ev.type === 'pay' ? 'payers' : undefined;
    if (!zone || !kind) continue;
    const day = DateTime.fromISO(ev.ts, { zone }).toFormat('yyyy-MM-dd');
    const ch = (ev.channel ?? '').trimEnd();
    if (!DAYS.map((d) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`).includes(day) || (channel !== undefined && ch !== channel)) continue;
    const key = `${ev.game} ${day} ${JSON.stringify(ch)}`;
    const entry = sets.get(key) ?? { new: new Set<string>(), payers: new Set<string>() };
    entry[kind].add(ev.user);
    sets.set(key, entry);
  }
  return [...sets].map(([key, s]) => `${key} new=${s.new.size} payers=${s.payers.size}`).sort();
}

async function tableRows(where = '1'): Promise<string[]> {
  const [rows] = await mysql().query<RowDataPacket[]>(
    `SELECT game_id, day, channel, new_users, payers FROM ${sqlId(stack!.names.schema('report'), 'report_channel_daily')} WHERE ${where}`,
  );
  return rows.map((r) => `${r.game_id} ${r.day} ${JSON.stringify(r.channel)} new=${r.new_users} payers=${r.payers}`).sort();
}

async function rerunDaily(filters: RunFilters = {}): Promise<RerunResult> {
  const { config, env } = stack!;
  const input = planRerun(config, { job: 'channels', tasks: registry.tasks('channels', ['daily']), range: DAYS.join(','), filters, parallelism: 2, maxPeriods: 10 });
  return (await startRerun(env.client, config, input)).result();
}

/** The job's group has read everything and has nothing pending. */
async function drained(): Promise<boolean> {
  const groups = (await redis().call('XINFO', 'GROUPS', stack!.names.redisKey('stream', 'events'))) as unknown[][];
  for (const g of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
    if (info.get('name') === 'channels') return Number(info.get('pending')) === 0 && Number(info.get('lag')) === 0;
  }
  return false;
}

before(async () => {
  stack = await startStack({ jobsDir: EXAMPLES });
  const { names } = stack;
  const url = new URL(stack.config.redisUrl);
  url.pathname = '/3';
  ownUrl = url.toString();
  const { jobs } = await migrate(mysql(), names, { jobs: registry.list() });
  assert.deepEqual(jobs.map((j) => `${j.job} v${j.version}`), ['channels v1']);
  await addGame(mysql(), names, validateGame({ id: 1 }));
  await addGame(mysql(), names, validateGame({ id: 2, tz: 'Asia/Shanghai' }));
  await addGame(mysql(), names, validateGame({ id: 3, redisUrl: ownUrl }));
  // As game servers send them, with one message that is no event.
  const pipeline = redis().pipeline();
  for (const ev of fixture()) pipeline.xadd(names.redisKey('stream', 'events'), '*', 'event', JSON.stringify(ev));
  pipeline.xadd(names.redisKey('stream', 'events'), '*', 'event', '{"game":1,"user":"u","type":"teleport","ts":1764000000}');
  await pipeline.exec();
});

after(async () => {
  if (stack && ownUrl) await deleteKeys(own(), `${stack.names.prefix}:*`);
  await stopStack(stack);
});

describe('the channels example job', () => {
  test('tally, fired by its schedule on a slave, reads the whole stream through its own group', { timeout: 60_000 }, async () => {
    const { config, env, names } = stack!;
    const control = new JobControl(env.client, config);
    const tally = registry.tasks('channels', ['tally']);
    await withSlaves(config, ['s1'], async () => {
      try {
        await control.start('channels', tally, { now: true });
        await until('tally to drain the stream', async () => ((await drained()) ? true : undefined), { seconds: 45, everyMs: 200 });
      } finally {
        await control.stop('channels', tally);
      }
    });
    // Game 3's tallies are in its own Redis, the others' in the installation's.
    assert.equal(await own().exists(names.gameKey('channels', 3, '20261109')), 1);
    assert.equal(await redis().exists(names.gameKey('channels', 3, '20261109')), 0);
    assert.equal(await redis().exists(names.gameKey('channels', 1, '20261109')), 1);
    // The collectors' group was never created: the job's reading took nothing from them.
    const groups = (await redis().call('XINFO', 'GROUPS', names.redisKey('stream', 'events'))) as unknown[][];
    assert.deepEqual(groups.map((g) => g[1]), ['channels']);
  });

  test('daily writes exactly the counts worked out from the events, per game, local day and channel', { timeout: 60_000 }, async () => {
    const result = await withSlaves(stack!.config, ['s1', 's2'], () => rerunDaily());
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    const expected = expectedRows(fixture());
    assert.equal(expected.length, 22, 'games 1 and 3: 3 + 5 rows; game 2 (Shanghai): 1 + 5');
    assert.deepEqual(await tableRows(), expected);
    // Worked by hand. Game 1 (UTC), 9 Nov: a twice and b by ads, c by store, d without a channel; a paid twice.
    assert.deepEqual(await tableRows("game_id = 1 AND day = '2026-11-09'"), [
      '1 2026-11-09 "" new=1 payers=0',
      '1 2026-11-09 "ads" new=2 payers=1',
      '1 2026-11-09 "store" new=1 payers=0',
    ]);
    // Game 2 (Shanghai), 10 Nov: c, d and f (15:59:59 UTC) fall on it, g and h (16:00, 23:00 UTC) on 11 Nov; c and b paid in store.
    assert.deepEqual(await tableRows("game_id = 2 AND day = '2026-11-10'"), [
      '2 2026-11-10 "" new=1 payers=0',
      '2 2026-11-10 "Ads" new=1 payers=0',
      '2 2026-11-10 "ads" new=1 payers=0',
      '2 2026-11-10 "friends" new=1 payers=0',
      '2 2026-11-10 "store" new=1 payers=2',
    ]);
    // Game 3 (its own Redis), 10 Nov: the same rules as game 1, read from database 3.
    assert.deepEqual(await tableRows("game_id = 3 AND day = '2026-11-10'"), [
      '3 2026-11-10 "Ads" new=1 payers=0',
      '3 2026-11-10 "ads" new=2 payers=0',
      '3 2026-11-10 "friends" new=1 payers=0',
      '3 2026-11-10 "store" new=0 payers=2',
      '3 2026-11-10 "store:eu" new=1 payers=0',
    ]);
  });

  test('-c recomputes one channel and leaves the others as they are', { timeout: 60_000 }, async () => {
    const table = sqlId(stack!.names.schema('report'), 'report_channel_daily');
    await mysql().query(`UPDATE ${table} SET new_users = 99 WHERE channel IN ('ads', 'store')`);
    const result = await withSlaves(stack!.config, ['s1'], () => rerunDaily({ channel: 'ads' }));
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(await tableRows("channel = 'ads'"), expectedRows(fixture(), 'ads'));
    const store = await tableRows("channel = 'store'");
    assert.ok(store.length > 0 && store.every((r) => r.includes('new=99')), store.join('\n'));
  });
});
