/** The MySQL layers: migrations, the games registry, configuration landing and restore, report notifications. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RowDataPacket } from 'mysql2/promise';
import { gamesCommand } from '../../cli/commands/games';
import { runInProcess } from '../helpers/in-process-cli';
import { isUserError, UserError } from '../../core/errors';
import { configHashKey, dataSettings, describeConfig, getConfig, landConfig, restoreConfig, setConfig } from '../../store/config/runtime-config';
import { addGame, gameClients, gameRouting, getGame, listEnabledGames, listGames, registryWriter, setGameEnabled, updateGame, validateGame, validateGameChanges } from '../../store/games/registry';
import { sqlId } from '../../store/identifiers';
import { appliedMigrations, migrate, MIGRATIONS } from '../../store/schema/migrations';
import { parseReportFinished, publishReportFinished, reportChannel } from '../../store/activity/publish';
import { dataWorld } from '../helpers/data';

const world = dataWorld();
after(() => world.cleanup());

describe('migrations', () => {
  test('before migrating, the registry says to run gflow db migrate', async () => {
    await assert.rejects(listGames(world.mysql, world.names), (err: unknown) => isUserError(err) && /run gflow db migrate/.test(err.message));
    assert.deepEqual(await appliedMigrations(world.mysql, world.names), []);
  });

  test('migrate creates the four schemas and the tables; a second run applies nothing', async () => {
    const first = await migrate(world.mysql, world.names);
    assert.deepEqual(first.applied, MIGRATIONS.map((m) => m.version));
    const [schemas] = await world.mysql.query<RowDataPacket[]>('SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY s', [`${world.names.prefix}\\_%`]);
    assert.deepEqual(schemas.map((r) => r.s), ['log', 'meta', 'report', 'tag'].map((l) => `${world.names.prefix}_${l}`));
    const again = await Promise.all([migrate(world.mysql, world.names), migrate(world.mysql, world.names)]);
    assert.deepEqual(again.map((r) => r.applied), [[], []]);
    assert.deepEqual(await appliedMigrations(world.mysql, world.names), MIGRATIONS.map((m) => m.version));
  });
});

describe('games registry', () => {
  before(() => migrate(world.mysql, world.names));

  test('add, list, disable, enable', async () => {
    await addGame(world.mysql, world.names, validateGame({ id: '7', name: 'Dragon', tz: 'Asia/Shanghai' }));
    await addGame(world.mysql, world.names, validateGame({ id: 3, redisUrl: 'redis://:secret@10.0.0.5:6379', mysqlUrl: 'mysql://r@10.0.0.6:3306' }));
    const all = await listGames(world.mysql, world.names);
    assert.deepEqual(all.map((g) => [g.id, g.name, g.tz, g.enabled]), [[3, 'game 3', null, true], [7, 'Dragon', 'Asia/Shanghai', true]]);
    assert.equal(all[0]!.redisUrl, 'redis://:secret@10.0.0.5:6379');

    await setGameEnabled(world.mysql, world.names, 3, false);
    assert.deepEqual((await listEnabledGames(world.mysql, world.names)).map((g) => g.id), [7]);
    assert.equal((await getGame(world.mysql, world.names, 3))?.enabled, false);
    await setGameEnabled(world.mysql, world.names, 3, true);
    assert.deepEqual((await listEnabledGames(world.mysql, world.names)).map((g) => g.id), [3, 7]);

    const routing = gameRouting(all, { redis: world.redis, tz: 'UTC' });
    assert.equal(routing.zoneFor(7), 'Asia/Shanghai');
    assert.equal(routing.zoneFor(12345), 'UTC');
    assert.equal(routing.redisFor(7), world.redis);
    assert.deepEqual(gameClients(all[1]!, { redis: world.redis, mysql: world.mysql }), { redis: world.redis, mysql: world.mysql });
  });

  test('bad input is refused with one line and changes nothing', async () => {
    const refused = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (err: unknown) => err instanceof UserError && err.exitCode === 2 && pattern.test(err.message) && !err.message.includes('\n'));
    refused(() => validateGame({ id: '1;DROP TABLE x' }), /game id .* is not valid/);
    refused(() => validateGame({ id: '../' }), /game id/);
    refused(() => validateGame({ id: 'x'.repeat(10_240) }), /game id .*10240 chars/);
    refused(() => validateGame({ id: 1, tz: 'Mars/Base' }), /IANA zone/);
    refused(() => validateGame({ id: 1, redisUrl: 'http://x' }), /Redis URL/);
    refused(() => validateGame({ id: 1, mysqlUrl: 'nope' }), /MySQL URL/);
    refused(() => validateGame({ id: 1, name: 'a\u0000b' }), /game name/);
    await assert.rejects(addGame(world.mysql, world.names, validateGame({ id: 7 })), /game 7 exists already/);
    await assert.rejects(setGameEnabled(world.mysql, world.names, 404, false), /game 404 is not registered/);
    assert.equal((await listGames(world.mysql, world.names)).length, 2);
  });

  test('a URL with a path that is not a database, or a query string, is refused (the settings\' validator)', () => {
    const refused = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (err: unknown) => err instanceof UserError && err.exitCode === 2 && pattern.test(err.message) && !err.message.includes('\n'));
    refused(() => validateGame({ id: 1, mysqlUrl: 'mysql://root@127.0.0.1:3306/;DROP' }), /MySQL URL .* is not valid: the path "\/;DROP" is not a database name; use mysql:\/\/host:port/);
    refused(() => validateGame({ id: 1, mysqlUrl: 'mysql://h:3306/db?multipleStatements=true' }), /query string/);
    refused(() => validateGame({ id: 1, redisUrl: 'redis://h:6379/16' }), /Redis URL .* database number from 0 to 15/);
    assert.equal(validateGame({ id: 1, mysqlUrl: 'mysql://r@h:3306/reports' }).mysqlUrl, 'mysql://r@h:3306/reports');
  });

  test('update changes the fields given and nothing else, and records who and when', async () => {
    const before = (await getGame(world.mysql, world.names, 3))!;
    assert.equal(before.updatedBy, registryWriter(), 'add and enable/disable record the writer too');
    await world.mysql.query(`UPDATE ${sqlId(world.names.schema('meta'), 'games')} SET updated_at = '2020-01-01 00:00:00', updated_by = NULL WHERE id IN (3, 7)`);

    const updated = await updateGame(world.mysql, world.names, 3, { redisUrl: 'redis://10.0.0.9:6380/2' }, 'ops@box1');
    assert.deepEqual(
      { ...updated, updatedAt: undefined },
      { ...before, redisUrl: 'redis://10.0.0.9:6380/2', updatedBy: 'ops@box1', updatedAt: undefined },
      'only the Redis URL and the record of the change differ',
    );
    assert.notEqual(updated.updatedAt.slice(0, 4), '2020', 'updated_at is now');
    const other = (await getGame(world.mysql, world.names, 7))!;
    assert.deepEqual([other.updatedBy, other.updatedAt.slice(0, 10)], [null, '2020-01-01'], 'other games are untouched');

    const renamed = await updateGame(world.mysql, world.names, 3, { name: ' Dragon II ', tz: 'Europe/Berlin', mysqlUrl: 'mysql://r@10.0.0.7:3306/own' });
    assert.deepEqual([renamed.name, renamed.tz, renamed.redisUrl, renamed.mysqlUrl], ['Dragon II', 'Europe/Berlin', 'redis://10.0.0.9:6380/2', 'mysql://r@10.0.0.7:3306/own']);
    assert.match(renamed.updatedBy!, /^[^@]+@[^@]+$/, 'user@host of this process by default');
    assert.equal(renamed.updatedBy, registryWriter());
  });

  test('update refuses an unknown id, a bad value or nothing to change, and changes nothing', async () => {
    const rows = async () => JSON.stringify(await listGames(world.mysql, world.names));
    const before = await rows();
    const refusal = (pattern: RegExp) => (err: unknown) => isUserError(err) && err.exitCode === 2 && pattern.test(err.message) && !err.message.includes('\n');
    await assert.rejects(updateGame(world.mysql, world.names, 404, { name: 'x' }), refusal(/game 404 is not registered/));
    await assert.rejects(updateGame(world.mysql, world.names, 3, { mysqlUrl: 'mysql://root@h:3306/;DROP' }), refusal(/MySQL URL .* not a database name/));
    await assert.rejects(updateGame(world.mysql, world.names, 3, { redisUrl: 'http://x' }), refusal(/Redis URL/));
    await assert.rejects(updateGame(world.mysql, world.names, 3, { tz: 'Mars/Base' }), refusal(/IANA zone/));
    await assert.rejects(updateGame(world.mysql, world.names, 3, {}), refusal(/nothing to change/));
    await assert.rejects(updateGame(world.mysql, world.names, '3;DROP' as unknown as number, { name: 'x' }), refusal(/game id/));
    assert.throws(() => validateGameChanges({ name: undefined }), refusal(/nothing to change/));
    assert.equal(await rows(), before);
  });

  test('gflow games update: exit 0, or 2 for an unknown id or a bad URL', async () => {
    const run = (args: string[]) => runInProcess(gamesCommand(), ['update', ...args], world.names.prefix);
    const ok = await run(['7', '--mysql', 'mysql://report@10.0.0.6:3306/reports']);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /updated game 7 \(Dragon\): mysqlUrl\n/);
    assert.equal((await getGame(world.mysql, world.names, 7))?.mysqlUrl, 'mysql://report@10.0.0.6:3306/reports');
    const unknown = await run(['404', '--name', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /game 404 is not registered/);
    const bad = await run(['7', '--mysql', 'mysql://root@h:3306/;DROP']);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /MySQL URL "mysql:\/\/root@h:3306\/;DROP" is not valid: the path "\/;DROP" is not a database name; use mysql:\/\/host:port/);
    assert.equal((await run(['7'])).code, 2, 'nothing to change');
  });

  test('the updated_by migration is safe to run again', async () => {
    const m = MIGRATIONS.find((x) => x.version === '0006_meta_games_updated_by')!;
    const conn = await world.mysql.getConnection();
    try {
      for (const statement of m.up(world.names)) await conn.query(statement);
    } finally {
      conn.release();
    }
    const [cols] = await world.mysql.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [world.names.schema('meta'), 'games'],
    );
    assert.deepEqual(cols.map((r) => r.c), ['id', 'name', 'tz', 'redis_url', 'mysql_url', 'enabled', 'created_at', 'updated_at', 'updated_by']);
  });
});

describe('configuration: Redis, landed in MySQL, restored after a flush', () => {
  before(() => migrate(world.mysql, world.names));

  test('set → land → flush → restore', async () => {
    await setConfig(world.redis, world.names, 'activity.threshold', '500');
    await setConfig(world.redis, world.names, 'report.note', 'hello');
    await assert.rejects(setConfig(world.redis, world.names, 'activity.threshold', '-3'), /whole number/);

    assert.deepEqual(await landConfig(world.redis, world.mysql, world.names), { landed: ['activity.threshold', 'report.note'], restored: [] });
    assert.deepEqual(await landConfig(world.redis, world.mysql, world.names), { landed: [], restored: [] }, 'nothing changed, nothing landed');
    await setConfig(world.redis, world.names, 'report.note', 'changed');
    assert.deepEqual((await landConfig(world.redis, world.mysql, world.names)).landed, ['report.note']);

    await world.redis.del(configHashKey(world.names)); // the flush
    assert.equal(await getConfig(world.redis, world.names, 'activity.threshold'), '1000000', 'the default shows while flushed');
    assert.deepEqual(await landConfig(world.redis, world.mysql, world.names), { landed: [], restored: ['activity.threshold', 'report.note'] });
    assert.equal(await getConfig(world.redis, world.names, 'report.note'), 'changed');
    assert.equal((await dataSettings(world.redis, world.names)).activity.threshold, 500);

    // Restore fills only what Redis lacks: a value set since the landing wins.
    await world.redis.hdel(configHashKey(world.names), 'report.note');
    await setConfig(world.redis, world.names, 'activity.threshold', '900');
    assert.deepEqual(await restoreConfig(world.redis, world.mysql, world.names), { restored: ['report.note'] });
    assert.equal(await getConfig(world.redis, world.names, 'activity.threshold'), '900');
    const entries = await describeConfig(world.redis, world.names);
    assert.deepEqual(entries.find((e) => e.key === 'ingest.stream'), { key: 'ingest.stream', value: 'events', source: 'default' });
    const [rows] = await world.mysql.query<RowDataPacket[]>(`SELECT value FROM ${sqlId(world.names.schema('meta'), 'config')} WHERE name = ?`, ['activity.threshold']);
    assert.equal(rows[0]!.value, '500', 'MySQL holds the landed value until the next landing');
  });
});

describe('report notifications', () => {
  test('a finished period is published on the channel', async () => {
    const subscriber = world.redis.duplicate();
    try {
      await subscriber.subscribe(reportChannel(world.names));
      const received = new Promise<string>((done) => subscriber.once('message', (_channel: string, text: string) => done(text)));
      assert.equal(await publishReportFinished(world.redis, world.names, { job: 'report', task: 'active', game: 7, period: '20261124' }), 1);
      assert.deepEqual(parseReportFinished(await received), { job: 'report', task: 'active', game: 7, period: '20261124' });
    } finally {
      await subscriber.quit();
    }
  });
});
