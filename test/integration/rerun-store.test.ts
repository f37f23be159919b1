/** The rerun store against the real MariaDB: snapshot, diff, checks, restore, and refusals. */
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import type { RowDataPacket } from 'mysql2/promise';
import { UserError } from '../../core/errors';
import { Names } from '../../core/names';
import { parsePeriodKey, type Period } from '../../core/period';
import type { ReportCheck, ReportTable } from '../../core/report';
import { sqlId } from '../../store/identifiers';
import { LAYERS, migrate } from '../../store/schema/migrations';
import {
  backedUpPeriods,
  diffPeriod,
  readDiff,
  restorePeriod,
  evaluateChecks,
  snapshot,
  type RerunScope,
} from '../../store/reruns/backup';
import { closeMysql, getMysql } from '../../infra/mysql';
import { rerunsCommand } from '../../cli/commands/reruns';
import { closeRerun, getRerun, openRerun } from '../../store/ledger/reruns';
import { runInProcess } from '../helpers/in-process-cli';

const names = new Names(`t${randomBytes(4).toString('hex')}`);
const pool = getMysql(process.env.GFLOW_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306');
const report = names.schema('report');
const day = (key: string): Period => parsePeriodKey('day', key, 'UTC');
const daysBack = (p: Period, n: number): string[] =>
  Array.from({ length: n }, (_, i) => DateTime.fromMillis(p.start, { zone: p.zone }).minus({ days: i }).toFormat('yyyy-MM-dd'));

const ACTIVE: ReportTable = { table: 'rs_active', periodColumn: 'day' };
/** Like retention: computing day D rewrites the cohorts D, D−1 and D−2. */
const RETENTION: ReportTable = { table: 'rs_retention', periodColumn: 'cohort', keyColumns: ['day_n'], periodValues: (p) => daysBack(p, 3) };
const TYPES: ReportTable = { table: 'report_types', gameColumn: 'game', periodColumn: 'hour', keyColumns: ['server'] };

const q = async (sql: string, params: unknown[] = []): Promise<RowDataPacket[]> => (await pool.query<RowDataPacket[]>(sql, params))[0];
const active = (where = '1'): Promise<RowDataPacket[]> => q(`SELECT * FROM ${sqlId(report, 'rs_active')} WHERE ${where} ORDER BY game_id, day`);
const retention = (): Promise<RowDataPacket[]> => q(`SELECT * FROM ${sqlId(report, 'rs_retention')} ORDER BY game_id, cohort, day_n`);
const putActive = (rows: ReadonlyArray<readonly unknown[]>): Promise<unknown> =>
  pool.query(`REPLACE INTO ${sqlId(report, 'rs_active')} (game_id, day, new_users, dau, wau, mau, revenue, note) VALUES ?`, [rows]);
const scope = (rerunId: string, period: Period, tables: readonly ReportTable[], games?: readonly number[]): RerunScope => ({ rerunId, period, tables, games });
const refused = (pattern: RegExp, exitCode: 1 | 2 = 2) => (err: unknown) => err instanceof UserError && err.exitCode === exitCode && pattern.test(err.message) && !err.message.includes('\n');

before(async () => {
  const { applied } = await migrate(pool, names);
  for (const version of ['0100_report_rerun_backup', '0101_report_rerun_diff', '0102_report_rerun_check']) assert.ok(applied.includes(version), version);
  assert.deepEqual((await migrate(pool, names)).applied, []);
  await pool.query(`CREATE TABLE ${sqlId(report, 'rs_active')} (
    game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, new_users INT NULL, dau INT NULL, wau INT NULL, mau INT NULL,
    revenue DECIMAL(19,4) NULL, note VARCHAR(32) NULL, PRIMARY KEY (game_id, day))`);
  await pool.query(`CREATE TABLE ${sqlId(report, 'rs_retention')} (
    game_id INT UNSIGNED NOT NULL, cohort DATE NOT NULL, day_n TINYINT UNSIGNED NOT NULL, users INT NOT NULL, rate DOUBLE NULL,
    PRIMARY KEY (game_id, cohort, day_n))`);
  await pool.query(`CREATE TABLE ${sqlId(report, 'report_types')} (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, game INT UNSIGNED NOT NULL, hour DATETIME NOT NULL, server VARCHAR(16) NOT NULL,
    big BIGINT UNSIGNED NULL, amount DECIMAL(30,10) NULL, f FLOAT NULL, d DOUBLE NULL, bin VARBINARY(8) NULL, flags BIT(8) NULL,
    at DATETIME(3) NULL, doubled BIGINT AS (game * 2) VIRTUAL, UNIQUE KEY k (game, hour, server))`);
});

after(async () => {
  try {
    for (const layer of LAYERS) await pool.query(`DROP DATABASE IF EXISTS ${sqlId(names.schema(layer))}`);
  } finally {
    await closeMysql();
  }
});

describe('snapshot', () => {
  test('backs up only the rows of the period and games in scope, with their key', async () => {
    await putActive([1, 2, 3].flatMap((g) => ['2015-04-20', '2015-04-21', '2015-04-22'].map((d) => [g, d, g, 10 * g, 20 * g, 30 * g, 1.5 * g, `g${g}`])));
    assert.deepEqual(await snapshot(pool, names, scope('r-some', day('20150421'), [ACTIVE], [3, 1])), { rows: 2 });
    const backup = await q(`SELECT game_id, row_key, row_data FROM ${sqlId(report, 'rerun_backup')} WHERE rerun_id = 'r-some' ORDER BY game_id`);
    assert.deepEqual(backup.map((r) => r.game_id), [1, 3]);
    assert.deepEqual(JSON.parse(String(backup[0]!.row_key)), { game_id: '1', day: '2015-04-21' });
    assert.deepEqual(JSON.parse(String(backup[1]!.row_data)), { game_id: '3', day: '2015-04-21', new_users: '3', dau: '30', wau: '60', mau: '90', revenue: '4.5000', note: 'g3' });
    assert.deepEqual(await backedUpPeriods(pool, names, 'r-some'), ['20150421']);
  });

  test('retried before the recompute, it yields the same backup', async () => {
    const read = () => q(`SELECT HEX(key_hash) h, period, tbl, game_id, row_key, row_data FROM ${sqlId(report, 'rerun_backup')} WHERE rerun_id = 'r-some' ORDER BY h`);
    const first = await read();
    for (let i = 0; i < 3; i++) assert.deepEqual(await snapshot(pool, names, scope('r-some', day('20150421'), [ACTIVE], [1, 3])), { rows: 2 });
    assert.deepEqual(await read(), first);
  });

  test('a table that does not exist yet backs up zero rows, and still counts as backed up', async () => {
    const future: ReportTable = { table: 'report_future', periodColumn: 'day' };
    assert.deepEqual(await snapshot(pool, names, scope('r-first', day('20150420'), [future])), { rows: 0 });
    assert.deepEqual(await backedUpPeriods(pool, names, 'r-first'), ['20150420']);
    // The first run ever writes the table; the diff sees its rows as added, a restore removes them.
    await pool.query(`CREATE TABLE ${sqlId(report, 'report_future')} (game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, v INT, PRIMARY KEY (game_id, day))`);
    await pool.query(`INSERT INTO ${sqlId(report, 'report_future')} VALUES (1, '2015-04-20', 5), (2, '2015-04-20', 6), (2, '2015-04-19', 7)`);
    assert.deepEqual(await diffPeriod(pool, names, scope('r-first', day('20150420'), [future])), { added: 2, removed: 0, changed: 0 });
    assert.deepEqual(await restorePeriod(pool, names, scope('r-first', day('20150420'), [future])), { deleted: 2, restored: 0 });
    assert.deepEqual(await q(`SELECT game_id, v FROM ${sqlId(report, 'report_future')}`), [{ game_id: 2, v: 7 }]);
  });
});

describe('diff and restore', () => {
  const P = day('20150420');
  const S = scope('r-diff', P, [ACTIVE]);
  let original: RowDataPacket[] = [];

  test('diff finds rows added, removed and changed, with per-column old and new values', async () => {
    original = await active(`day = '2015-04-20'`);
    assert.deepEqual(await snapshot(pool, names, S), { rows: 3 });
    // The "recompute": game 1 changes two columns (one only in letter case), game 2 loses its row, game 4 gains one.
    await pool.query(`UPDATE ${sqlId(report, 'rs_active')} SET dau = 12, note = 'G1', revenue = 1.5 WHERE game_id = 1 AND day = '2015-04-20'`);
    await pool.query(`DELETE FROM ${sqlId(report, 'rs_active')} WHERE game_id = 2 AND day = '2015-04-20'`);
    await putActive([[4, '2015-04-20', 1, 2, 3, 4, null, null], [4, '2015-04-19', 9, 9, 9, 9, null, null]]);

    const counts = await diffPeriod(pool, names, S);
    assert.deepEqual(counts, { added: 1, removed: 1, changed: 1 });
    assert.deepEqual(await diffPeriod(pool, names, S), counts, 'a retried diff replaces, never adds');
    const diff = await readDiff(pool, names, 'r-diff');
    assert.deepEqual(
      diff.map((d) => [d.game, d.change, d.key]),
      [
        [1, 'changed', { game_id: 1, day: '2015-04-20' }],
        [2, 'removed', { game_id: 2, day: '2015-04-20' }],
        [4, 'added', { game_id: 4, day: '2015-04-20' }],
      ],
    );
    assert.deepEqual(diff[0]!.columns, { dau: { old: 10, new: 12 }, note: { old: 'g1', new: 'G1' } });
    assert.deepEqual(diff[1]!.columns, { new_users: { old: 2, new: null }, dau: { old: 20, new: null }, wau: { old: 40, new: null }, mau: { old: 60, new: null }, revenue: { old: 3, new: null }, note: { old: 'g2', new: null } });
    assert.deepEqual(diff[2]!.columns.dau, { old: null, new: 2 });
    assert.equal(diff[0]!.period, '20150420');
    assert.equal(diff[0]!.table, 'rs_active');
    assert.deepEqual((await readDiff(pool, names, 'r-diff', { games: [4, 2] })).map((d) => d.game), [2, 4]);
    assert.deepEqual(await readDiff(pool, names, 'r-diff', { period: '20150421' }), []);
    assert.equal((await readDiff(pool, names, 'r-diff', { limit: 2 })).length, 2);
  });

  test('restore brings back exactly the backed-up rows and deletes what the recompute added; twice is once', async () => {
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await restorePeriod(pool, names, S), { deleted: 3, restored: 3 });
      assert.deepEqual(await active(`day = '2015-04-20'`), original);
    }
    // Outside the period: not the rerun's to restore.
    assert.equal((await active(`game_id = 4`)).length, 1);
    assert.deepEqual(await diffPeriod(pool, names, S), { added: 0, removed: 0, changed: 0 });
  });

  test('the same code over the same data gives no changes', async () => {
    const S2 = scope('r-same', P, [ACTIVE, RETENTION]);
    await snapshot(pool, names, S2);
    // An idempotent upsert of the same values, some written as other literals of the same number.
    await pool.query(`INSERT INTO ${sqlId(report, 'rs_active')} (game_id, day, dau, revenue) VALUES (1, '2015-04-20', '10', '1.50'), (3, '2015-04-20', 30.0, 4.5) ON DUPLICATE KEY UPDATE dau = VALUES(dau), revenue = VALUES(revenue)`);
    assert.deepEqual(await diffPeriod(pool, names, S2), { added: 0, removed: 0, changed: 0 });
    assert.deepEqual(await readDiff(pool, names, 'r-same'), []);
  });

  test('a restore limited to the snapshot\'s games touches no other game, and refuses games it has no backup of', async () => {
    const S3 = scope('r-games', day('20150422'), [ACTIVE], [1, 2]);
    await snapshot(pool, names, S3);
    await pool.query(`UPDATE ${sqlId(report, 'rs_active')} SET dau = dau + 1000 WHERE day = '2015-04-22'`);
    assert.deepEqual(await restorePeriod(pool, names, { ...S3, games: undefined }), { deleted: 2, restored: 2 });
    assert.deepEqual((await active(`day = '2015-04-22'`)).map((r) => [r.game_id, r.dau]), [[1, 10], [2, 20], [3, 1030]]);
    await assert.rejects(restorePeriod(pool, names, { ...S3, games: [3] }), refused(/backed up games 1, 2 .* not game 3/));
    await assert.rejects(restorePeriod(pool, names, scope('r-none', P, [ACTIVE])), refused(/rerun r-none has no backup of period 20150420 for report table rs_active: nothing was changed/));
    await assert.rejects(diffPeriod(pool, names, scope('r-none', P, [ACTIVE])), refused(/has no backup/));
    assert.equal((await active(`day = '2015-04-20'`)).length, 3);
  });

  test('every column type comes back exact, and a diff of unchanged values of any type is empty', async () => {
    const H = parsePeriodKey('hour', '2015042013', 'UTC');
    const put = `INSERT INTO ${sqlId(report, 'report_types')} (game, hour, server, big, amount, f, d, bin, flags, at) VALUES ?`;
    await pool.query(put, [[
      [7, '2015-04-20 13:00:00', 's1', '18446744073709551615', '12345678901234567890.1234567890', 1 / 3, 0.1 + 0.2, Buffer.from([0, 255, 10]), 5, '2015-04-20 13:01:02.345'],
      [7, '2015-04-20 13:00:00', 'S2', null, null, null, null, null, null, null],
      [7, '2015-04-20 14:00:00', 's1', 1, 1, 1, 1, null, 1, null],
    ]]);
    const read = () => q(`SELECT *, HEX(bin) AS hb, CAST(CAST(f AS DOUBLE) AS CHAR) AS fs, CAST(big AS CHAR) AS bs FROM ${sqlId(report, 'report_types')} ORDER BY id`);
    const before = await read();
    const S4 = scope('r-types', H, [TYPES]);
    assert.deepEqual(await snapshot(pool, names, S4), { rows: 2 });
    assert.deepEqual(await diffPeriod(pool, names, S4), { added: 0, removed: 0, changed: 0 });
    await pool.query(`UPDATE ${sqlId(report, 'report_types')} SET big = 1, amount = 2, f = 3, d = 4, bin = 'x', flags = 0, at = NULL WHERE server = 's1' AND hour = '2015-04-20 13:00:00'`);
    await pool.query(put, [[[7, '2015-04-20 13:00:00', 's3', 1, 1, 1, 1, null, 1, null]]]);
    assert.deepEqual(await diffPeriod(pool, names, S4), { added: 1, removed: 0, changed: 1 });
    const changed = (await readDiff(pool, names, 'r-types')).find((d) => d.change === 'changed')!;
    assert.deepEqual(changed.key, { game: 7, hour: '2015-04-20 13:00:00', server: 's1' });
    assert.deepEqual(changed.columns.big, { old: '18446744073709551615', new: 1 });
    assert.deepEqual(changed.columns.amount, { old: '12345678901234567890.1234567890', new: 2 });
    assert.deepEqual(changed.columns.at, { old: '2015-04-20 13:01:02.345', new: null });
    assert.deepEqual(await restorePeriod(pool, names, S4), { deleted: 3, restored: 2 });
    assert.deepEqual(await read(), before);
  });
});

describe('overlapping backups (retention-like)', () => {
  const periods = ['20150510', '20150511', '20150512'].map(day);
  const cohorts = ['2015-05-08', '2015-05-09', '2015-05-10', '2015-05-11', '2015-05-12'];

  test('restored latest period first, the earliest snapshot wins and the table is as before the rerun', async () => {
    const rows = [1, 2].flatMap((g) => cohorts.flatMap((c, i) => [1, 2].map((n) => [g, c, n, 100 * g + 10 * i + n, 0.1 + 0.2])));
    await pool.query(`INSERT INTO ${sqlId(report, 'rs_retention')} (game_id, cohort, day_n, users, rate) VALUES ?`, [rows]);
    const original = await retention();
    // A sequential rerun: each period is backed up, then recomputed, which rewrites its three cohorts.
    for (const p of periods) {
      const S = scope('r-ret', p, [RETENTION]);
      assert.equal((await snapshot(pool, names, S)).rows, 12);
      const values = daysBack(p, 3);
      await pool.query(`UPDATE ${sqlId(report, 'rs_retention')} SET users = users + 1000, rate = 0.5 WHERE cohort IN (?)`, [values]);
      await pool.query(`DELETE FROM ${sqlId(report, 'rs_retention')} WHERE cohort = ? AND day_n = 2 AND game_id = 2`, [values[0]]);
      await pool.query(`INSERT INTO ${sqlId(report, 'rs_retention')} (game_id, cohort, day_n, users) VALUES (1, ?, 7, 1)`, [values[0]]);
      assert.deepEqual(await diffPeriod(pool, names, S), { added: 1, removed: 1, changed: 11 });
    }
    assert.deepEqual(await backedUpPeriods(pool, names, 'r-ret'), ['20150510', '20150511', '20150512']);

    // Oldest first would let a later snapshot, taken after earlier recomputes, have the last word.
    for (const p of periods) await restorePeriod(pool, names, scope('r-ret', p, [RETENTION]));
    assert.notDeepEqual(await retention(), original);
    for (const p of [...periods].reverse()) await restorePeriod(pool, names, scope('r-ret', p, [RETENTION]));
    assert.deepEqual(await retention(), original);
  });
});

describe('checks', () => {
  const P = day('20150425');
  const checks: ReportCheck[] = [
    { kind: 'range', table: 'rs_active', column: 'dau', min: 0, severity: 'warning' },
    { kind: 'ordered', table: 'rs_active', columns: ['new_users', 'dau', 'wau', 'mau'] },
    { kind: 'rowPerGame', table: 'rs_active' },
    { kind: 'rowPerGame', table: 'rs_retention', name: 'retention rows' },
    { kind: 'range', table: 'rs_retention', column: 'rate', min: 0, max: 1 },
  ];

  test('range, ordered and row-per-game failures, errors and warnings; NULL passes', async () => {
    await putActive([
      [1, '2015-04-25', 1, 5, 3, null, null, null], // dau > wau; wau ≤ mau unknown
      [2, '2015-04-25', null, -1, 10, 20, null, null], // dau < 0
      [3, '2015-04-25', null, null, null, 7, null, null], // nothing computable: passes
    ]);
    await pool.query(`INSERT INTO ${sqlId(report, 'rs_retention')} (game_id, cohort, day_n, users, rate) VALUES
      (1, '2015-04-25', 1, 1, 0.5), (1, '2015-04-24', 1, 1, NULL), (1, '2015-04-23', 1, 1, 1), (2, '2015-04-25', 1, 1, 1.5)`);
    const S = scope('r-checks', P, [ACTIVE, RETENTION]);
    const base = { period: '20150425' };
    const expected = [
      { ...base, check: 'rs_active: 0 ≤ dau ≤ ∞', severity: 'warning', table: 'rs_active', game: 2, detail: 'dau=-1 < 0 (day=2015-04-25)' },
      { ...base, check: 'rs_active: new_users ≤ dau ≤ wau ≤ mau', severity: 'error', table: 'rs_active', game: 1, detail: 'dau=5 > wau=3 (day=2015-04-25)' },
      { ...base, check: 'rs_active: a row for every game', severity: 'error', table: 'rs_active', game: 5, detail: 'no row for day=2015-04-25' },
      { ...base, check: 'retention rows', severity: 'error', table: 'rs_retention', game: 2, detail: 'no row for cohort=2015-04-24, 2015-04-23' },
      { ...base, check: 'retention rows', severity: 'error', table: 'rs_retention', game: 3, detail: 'no row for cohort=2015-04-25, 2015-04-24, 2015-04-23' },
      { ...base, check: 'retention rows', severity: 'error', table: 'rs_retention', game: 5, detail: 'no row for cohort=2015-04-25, 2015-04-24, 2015-04-23' },
      { ...base, check: 'rs_retention: 0 ≤ rate ≤ 1', severity: 'error', table: 'rs_retention', game: 2, detail: 'rate=1.5 > 1 (cohort=2015-04-25, day_n=1)' },
    ];
    assert.deepEqual(await evaluateChecks(pool, names, S, checks, [1, 2, 3, 5]), expected);
    assert.deepEqual(await evaluateChecks(pool, names, S, checks, [1, 2, 3, 5]), expected, 'again: same results');

    // Limited to games 1 and 3, only their failures remain.
    const some = await evaluateChecks(pool, names, { ...S, games: [1, 3] }, checks, [1, 2, 3, 5]);
    assert.deepEqual(some.map((r) => [r.game, r.detail]), [[1, 'dau=5 > wau=3 (day=2015-04-25)'], [3, 'no row for cohort=2015-04-25, 2015-04-24, 2015-04-23']]);
  });

  test('a check failing on very many rows lists a bounded number and counts the rest', async () => {
    const games = Array.from({ length: 1005 }, (_, i) => 1000 + i);
    await putActive(games.map((g) => [g, '2015-06-01', null, -1, null, null, null, null]));
    const results = await evaluateChecks(pool, names, scope('r-many', day('20150601'), [ACTIVE]), [checks[0]!], []);
    assert.equal(results.length, 1001);
    assert.deepEqual(results.at(-1), { check: 'rs_active: 0 ≤ dau ≤ ∞', severity: 'warning', table: 'rs_active', period: '20150601', detail: '5 more rows fail this check (the first 1000 are listed)' });
  });
});

describe('refusals', () => {
  const P = day('20150420');
  const hostile = ['x;DROP TABLE y', 'a`b', '../etc', 'x'.repeat(100), ''];

  test('hostile table and column names are refused before any SQL runs', async () => {
    for (const name of hostile) {
      await assert.rejects(snapshot(pool, names, scope('r-bad', P, [{ table: name, periodColumn: 'day' }])), refused(/report table .* is not valid/));
      await assert.rejects(snapshot(pool, names, scope('r-bad', P, [{ table: 'rs_active', periodColumn: name }])), refused(/column .* is not valid/));
      await assert.rejects(restorePeriod(pool, names, scope('r-bad', P, [{ ...ACTIVE, gameColumn: name }])), refused(/column .* is not valid/));
      await assert.rejects(diffPeriod(pool, names, scope('r-bad', P, [{ ...ACTIVE, keyColumns: [name] }])), refused(/column .* is not valid/));
      await assert.rejects(evaluateChecks(pool, names, scope('r-bad', P, [ACTIVE]), [{ kind: 'range', table: 'rs_active', column: name, min: 0 }], []), refused(/column .* is not valid/));
    }
    await assert.rejects(snapshot(pool, names, scope('r\nbad', P, [ACTIVE])), refused(/rerun id/));
    await assert.rejects(snapshot(pool, names, scope('r-bad', P, [ACTIVE], [0])), refused(/game 0 is not valid/));
    await assert.rejects(snapshot(pool, names, scope('r-bad', P, [{ ...ACTIVE, keyColumns: ['no_such'] }])), refused(/has no column no_such/, 1));
    await assert.rejects(evaluateChecks(pool, names, scope('r-bad', P, [ACTIVE]), [{ kind: 'rowPerGame', table: 'rs_retention' }], []), refused(/does not declare/));
    await assert.rejects(readDiff(pool, names, 'r-bad', { period: "1' OR '1'='1" }), refused(/period/));
    assert.deepEqual(await backedUpPeriods(pool, names, 'r-bad'), []);
  });

  test('a backup whose columns do not match the table is not restored, and nothing changes', async () => {
    const S = scope('r-tamper', P, [ACTIVE]);
    await snapshot(pool, names, S);
    const now = await active();
    const backup = sqlId(report, 'rerun_backup');
    await pool.query(`UPDATE ${backup} SET row_data = JSON_SET(row_data, '$.ghost', '1') WHERE rerun_id = 'r-tamper' AND game_id = 3`);
    await assert.rejects(restorePeriod(pool, names, S), refused(/has column ghost, which the table no longer has/, 1));
    await pool.query(`UPDATE ${backup} SET row_data = JSON_REMOVE(JSON_SET(row_data, '$."dau\`; DROP TABLE x; --"', '1'), '$.ghost') WHERE rerun_id = 'r-tamper' AND game_id = 3`);
    await assert.rejects(restorePeriod(pool, names, S), refused(/column .* is not valid/));
    assert.deepEqual(await active(), now);
  });

  test('before the rerun tables exist, every call says to migrate', async () => {
    const bare = new Names(`t${randomBytes(4).toString('hex')}`);
    await assert.rejects(snapshot(pool, bare, scope('r', P, [ACTIVE])), refused(/run gflow db migrate first/, 1));
    await assert.rejects(readDiff(pool, bare, 'r'), refused(/run gflow db migrate first/, 1));
    await assert.rejects(backedUpPeriods(pool, bare, 'r'), refused(/run gflow db migrate first/, 1));
  });
});

describe('gflow reruns prune', () => {
  test('deletes the backups of finished reruns older than the age and marks them pruned; running and recent ones keep theirs', async () => {
    const p = day('20150501');
    await putActive([[1, '2015-05-01', 1, 10, 20, 30, 1.5, 'g1']]);
    const old = Date.now() - 200 * 86_400_000;
    for (const [rerunId, startedAt, ended] of [['p-old', old, true], ['p-running', old, false], ['p-recent', Date.now(), true]] as const) {
      await openRerun(pool, names, { rerunId, job: 'rs', kind: 'rerun', plan: {}, filters: {}, startedAt });
      if (ended) await closeRerun(pool, names, rerunId, 'ok', {}, startedAt + 1000);
      assert.deepEqual(await snapshot(pool, names, scope(rerunId, p, [ACTIVE])), { rows: 1 });
    }
    const backups = async () => (await q(`SELECT rerun_id FROM ${sqlId(report, 'rerun_backup')} WHERE rerun_id LIKE 'p-%' ORDER BY rerun_id`)).map((r) => r.rerun_id);
    const prune = () => runInProcess(rerunsCommand(), ['prune', '--older-than', '90d', '--json'], names.prefix);

    const first = await prune();
    assert.equal(first.code, 0);
    // --json after the subcommand is the subcommand's, though `gflow reruns` has a --json of its own.
    const result = JSON.parse(first.out) as { pruned: string[]; stillRunning: string[]; rowsDeleted: number };
    assert.deepEqual([result.pruned, result.stillRunning], [['p-old'], ['p-running']]);
    assert.ok(result.rowsDeleted >= 1, first.out);
    assert.deepEqual(await backups(), ['p-recent', 'p-running']);
    assert.ok((await getRerun(pool, names, 'p-old'))?.prunedAt !== undefined);
    assert.equal((await getRerun(pool, names, 'p-recent'))?.prunedAt, undefined);

    assert.deepEqual(JSON.parse((await prune()).out), { pruned: [], stillRunning: ['p-running'], rowsDeleted: 0 }, 'a pruned rerun is not pruned again');
  });
});
