/**
 * The `report` job against a fixture whose every figure was worked out by
 * hand: run for real (two slaves, one rerun of all four tasks), identical
 * whether the game's days are bitmaps (game 1, threshold 0) or sets (game 3,
 * the default threshold), zeros for a game without events (game 2); the
 * declared checks fire on corrupted rows; a rerun repairs them; each game's
 * finished rows are announced on the reports channel; late events are
 * counted by the next rerun.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RowDataPacket } from 'mysql2/promise';
import { Names } from '../../core/names';
import { parsePeriodKey } from '../../core/period';
import { ActivityStore } from '../../store/activity/store';
import { migrate } from '../../store/schema/migrations';
import { parseReportFinished, reportChannel } from '../../store/activity/publish';
import { evaluateChecks } from '../../store/reruns/backup';
import { onlineFigures } from '../../jobs/report/compute';
import type { Config } from '../../infra/config';
import { loadJobs } from '../../infra/jobs';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { planRerun, startRerun } from '../../client/reruns';
import type { RerunResult } from '../../workflows/rerun';
import { events } from '../helpers/data';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { startTemporal, testConfig } from '../helpers/temporal';

const DAY = '20261110';
const DATE = '2026-11-10';
const TASKS = ['active', 'retention', 'online', 'pay'];
const registry = loadJobs(resolve(__dirname, '../../jobs'));

let env: TestWorkflowEnvironment;
let config: Config;
let names: Names;
const mysql = () => getMysql(config.mysqlUrl);

/**
 * Ten players of one game around 10 Nov 2026 (UTC). D = 10 Nov.
 * Active on D: a, c, d, e, i. New on D: c. Active D−6..D adds b, f; D−29..D adds g, j; h is older.
 * Cohorts: D−1 {a, b} (a back on D), D−3 {i} (back), D−7 {d} (back), D−14 {j} (not), D−30 {e} (back).
 * Online on D: bucket 0 {i}, bucket 120 (10:00) {a, c}, bucket 121 {a}.
 * Pay on D: a 4.99, c 10 (the same order twice counts once).
 */
function fixture(game: number) {
  const e = (user: string, type: string, ts: string, extra: object = {}) => ({ game, user, type, ts, ...extra });
  return events([
    e('a', 'register', '2026-11-09T10:00:00Z'),
    e('a', 'login', '2026-11-10T09:00:00Z'),
    e('a', 'online', '2026-11-10T10:00:00Z'),
    e('a', 'online', '2026-11-10T10:03:00Z'),
    e('a', 'online', '2026-11-10T10:07:00Z'),
    e('a', 'pay', '2026-11-10T10:08:00Z', { id: 'o1', amount: '4.99' }),
    e('b', 'register', '2026-11-09T11:00:00Z'),
    e('c', 'register', '2026-11-10T10:00:00Z'),
    e('c', 'online', '2026-11-10T10:01:00Z'),
    e('c', 'pay', '2026-11-10T10:02:00Z', { id: 'o2', amount: 10 }),
    e('c', 'pay', '2026-11-10T10:02:00Z', { id: 'o2', amount: 10 }),
    e('d', 'register', '2026-11-03T08:00:00Z'),
    e('d', 'login', '2026-11-10T08:00:00Z'),
    e('e', 'register', '2026-10-11T08:00:00Z'),
    e('e', 'login', '2026-11-10T23:59:59Z'),
    e('f', 'login', '2026-11-04T12:00:00Z'),
    e('g', 'login', '2026-10-21T12:00:00Z'),
    e('h', 'login', '2026-10-01T12:00:00Z'),
    e('i', 'register', '2026-11-07T12:00:00Z'),
    e('i', 'login', '2026-11-10T00:00:00Z'),
    e('i', 'online', '2026-11-10T00:00:30Z'),
    e('j', 'register', '2026-10-27T12:00:00Z'),
  ]);
}

/** The hand-checked rows of a game with the fixture, and of a game without events. */
const EXPECTED = {
  active: { full: [DATE, 5, 7, 9, 1], empty: [DATE, 0, 0, 0, 0] },
  retention: {
    full: [
      ['2026-10-11', 1, null, null, null, null, null, 1],
      ['2026-10-27', 1, null, null, null, null, 0, null],
      ['2026-11-03', 1, null, null, null, 1, null, null],
      ['2026-11-07', 1, null, null, 1, null, null, null],
      ['2026-11-08', 0, null, 0, null, null, null, null],
      ['2026-11-09', 2, 1, null, null, null, null, null],
      ['2026-11-10', 1, null, null, null, null, null, null],
    ],
    empty: [
      ['2026-10-11', 0, null, null, null, null, null, 0],
      ['2026-10-27', 0, null, null, null, null, 0, null],
      ['2026-11-03', 0, null, null, null, 0, null, null],
      ['2026-11-07', 0, null, null, 0, null, null, null],
      ['2026-11-08', 0, null, 0, null, null, null, null],
      ['2026-11-09', 0, 0, null, null, null, null, null],
      ['2026-11-10', 0, null, null, null, null, null, null],
    ],
  },
  // acu = 4 / 288 = 0.01388… → 0.0139
  online: { full: [DATE, 2, '0.0139', 288], empty: [DATE, 0, '0.0000', 288] },
  // pay_rate 2/5; arpu 14.99/5; arppu 14.99/2
  pay: { full: [DATE, 2, '14.9900', '0.400000', '2.9980', '7.4950'], empty: [DATE, 0, '0.0000', null, null, null] },
} as const;

async function select(sql: string, game: number): Promise<unknown[][]> {
  const [rows] = await mysql().query<RowDataPacket[]>(sql.replace(/\bT\b/, `\`${names.schema('report')}\``), [game]);
  return rows.map((r) => Object.values(r));
}

const reportRows = {
  active: (g: number) => select('SELECT day, dau, wau, mau, new_users FROM T.report_active WHERE game_id = ? ORDER BY day', g),
  retention: (g: number) => select('SELECT cohort_day, new_users, d1, d2, d3, d7, d14, d30 FROM T.report_retention WHERE game_id = ? ORDER BY cohort_day', g),
  online: (g: number) => select('SELECT day, pcu, CAST(acu AS CHAR), buckets FROM T.report_online WHERE game_id = ? ORDER BY day', g),
  pay: (g: number) =>
    select('SELECT day, payers, CAST(revenue AS CHAR), CAST(pay_rate AS CHAR), CAST(arpu AS CHAR), CAST(arppu AS CHAR) FROM T.report_pay WHERE game_id = ? ORDER BY day', g),
};

async function rerunReport(): Promise<RerunResult> {
  const input = planRerun(config, { job: 'report', tasks: registry.tasks('report', TASKS), range: DAY, filters: {}, parallelism: 4, maxPeriods: 10 });
  return withSlaves(config, ['s1', 's2'], async () => (await startRerun(env.client, config, input)).result());
}

before(async () => {
  env = await startTemporal();
  config = testConfig({ temporalAddress: env.address, jobsDir: resolve(__dirname, '../../jobs') });
  names = new Names(config.prefix);
  await migrate(mysql(), names, { jobs: registry.list() });
  await prepareMysql(mysql(), names, [1, 2, 3]);
  const redis = getRedis(config.redisUrl);
  await new ActivityStore(redis, names, { threshold: 0 }).write(fixture(1));
  await new ActivityStore(redis, names).write(fixture(3));
});

after(async () => {
  if (config) await dropAll(mysql(), getRedis(config.redisUrl), names);
  await closeRedis();
  await closeMysql();
  await env?.teardown();
});

describe('report job', () => {
  test('the fixture is stored as bitmaps for game 1 and as sets for game 3', async () => {
    const store = new ActivityStore(getRedis(config.redisUrl), names);
    assert.equal(await store.representation(1, DAY), 'bitmap');
    assert.equal(await store.representation(3, DAY), 'set');
  });

  test('one rerun of the four tasks writes every hand-checked figure, the same under bitmaps and sets', async () => {
    const subscriber = getRedis(config.redisUrl).duplicate();
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, text: string) => {
      const m = parseReportFinished(text);
      heard.push(`${m.task} ${m.game} ${m.period}`);
    });
    await subscriber.subscribe(reportChannel(names));
    let result: RerunResult;
    try {
      result = await rerunReport();
    } finally {
      await subscriber.quit();
    }
    assert.deepEqual(heard.sort(), TASKS.flatMap((task) => [1, 2, 3].map((game) => `${task} ${game} ${DAY}`)).sort(), 'one announcement per task and game');
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => [p.task, p.added, p.checkErrors, p.checkWarnings]),
      [
        ['active', 3, 0, 0],
        ['retention', 21, 0, 0],
        ['online', 3, 0, 0],
        ['pay', 3, 0, 0],
      ],
    );
    for (const table of ['active', 'online', 'pay'] as const) {
      for (const game of [1, 3]) assert.deepEqual(await reportRows[table](game), [EXPECTED[table].full], `${table} of game ${game}`);
      assert.deepEqual(await reportRows[table](2), [EXPECTED[table].empty], `${table} of the game without events`);
    }
    for (const game of [1, 3]) assert.deepEqual(await reportRows.retention(game), EXPECTED.retention.full, `retention of game ${game}`);
    assert.deepEqual(await reportRows.retention(2), EXPECTED.retention.empty, 'retention of the game without events');
  });

  test("today's online row counts only the buckets elapsed", async () => {
    const redis = getRedis(config.redisUrl);
    for (const game of [1, 3]) {
      // Up to 10:05: buckets 0..120 hold {i} and {a, c}; acu = 3 / 121 = 0.02479… → 0.0248.
      assert.deepEqual(await onlineFigures(new ActivityStore(redis, names), game, DAY, 'UTC', 121), { pcu: 2, acu: '0.0248', buckets: 121 });
    }
  });

  test('the declared checks fire on corrupted rows, and a rerun repairs them', async () => {
    const t = (table: string) => `\`${names.schema('report')}\`.${table}`;
    await mysql().query(`UPDATE ${t('report_active')} SET dau = 8 WHERE game_id = 1`);
    await mysql().query(`DELETE FROM ${t('report_active')} WHERE game_id = 2`);
    await mysql().query(`UPDATE ${t('report_retention')} SET d1 = 3 WHERE game_id = 3 AND cohort_day = '2026-11-09'`);
    await mysql().query(`UPDATE ${t('report_online')} SET acu = 2.5 WHERE game_id = 1`);
    await mysql().query(`UPDATE ${t('report_pay')} SET pay_rate = 1.25 WHERE game_id = 3`);

    const period = parsePeriodKey('day', DAY, 'UTC');
    const failures: string[] = [];
    for (const name of TASKS) {
      const task = registry.task('report', name);
      const scope = { period, tables: task.reports ?? [] };
      for (const r of await evaluateChecks(mysql(), names, scope, task.checks ?? [], [1, 2, 3])) failures.push(`${r.check} | game ${r.game}: ${r.detail}`);
    }
    assert.deepEqual(failures.sort(), [
      'report_active: a row for every game | game 2: no row for day=2026-11-10',
      'report_active: new_users ≤ dau ≤ wau ≤ mau | game 1: dau=8 > wau=7 (day=2026-11-10)',
      'report_online: acu ≤ pcu | game 1: acu=2.5000 > pcu=2 (day=2026-11-10)',
      'report_pay: 0 ≤ pay_rate ≤ 1 | game 3: pay_rate=1.250000 > 1 (day=2026-11-10)',
      'report_retention: d1 ≤ new_users | game 3: d1=3 > new_users=2 (cohort_day=2026-11-09)',
    ]);

    const result = await rerunReport();
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => [p.task, p.added, p.changed, p.removed]),
      [
        ['active', 1, 1, 0],
        ['retention', 0, 1, 0],
        ['online', 0, 1, 0],
        ['pay', 0, 1, 0],
      ],
    );
    assert.deepEqual(await reportRows.active(1), [EXPECTED.active.full]);
    assert.deepEqual(await reportRows.pay(3), [EXPECTED.pay.full]);
  });

  test('late events after the day was computed: a rerun counts them, through rebuilt window unions and cohorts', async () => {
    const redis = getRedis(config.redisUrl);
    // After the runs above, game 1's unions of D and its cohorts' runs are cached; these writes must drop them.
    const late = (game: number) =>
      events([
        { game, user: 'h', type: 'login', ts: '2026-11-10T20:00:00Z' }, // h, last seen 1 Oct, is back on D
        { game, user: 'b', type: 'login', ts: '2026-11-10T21:00:00Z' }, // cohort D−1's b is back on D
        { game, user: 'k', type: 'register', ts: '2026-11-09T22:00:00Z' }, // a registration on D−1 that arrives late
      ]);
    await new ActivityStore(redis, names, { threshold: 0 }).write(late(1));
    await new ActivityStore(redis, names).write(late(3));
    const input = planRerun(config, { job: 'report', tasks: registry.tasks('report', ['active', 'retention']), range: DAY, filters: {}, parallelism: 4, maxPeriods: 10 });
    const result = await withSlaves(config, ['s1', 's2'], async () => (await startRerun(env.client, config, input)).result());
    assert.equal(result.ok, true, JSON.stringify(result.periods));
    assert.deepEqual(
      result.periods.map((p) => [p.task, p.added, p.changed, p.removed]),
      [
        ['active', 0, 2, 0],
        ['retention', 0, 2, 0],
      ],
    );
    // DAU + h, b; WAU + h, k; MAU + h, k. Cohort 9 Nov: a, b, k; back on D: a, b.
    const retention = EXPECTED.retention.full.map((row) => (row[0] === '2026-11-09' ? ['2026-11-09', 3, 2, null, null, null, null, null] : row));
    for (const game of [1, 3]) {
      assert.deepEqual(await reportRows.active(game), [[DATE, 7, 9, 11, 1]], `active of game ${game}`);
      assert.deepEqual(await reportRows.retention(game), retention, `retention of game ${game}`);
    }
  });
});
