/**
 * Jobs declare their report tables: `gflow db migrate` (the real CLI, as a
 * user runs it) creates a user job's table from the jobs folder, twice
 * without change; an installation migrated by the code that hard-wired the
 * report tables into gflow's own migrations upgrades without error or data
 * loss; a job's bad migration is refused when its file loads, and a failing
 * statement is reported by job and version and not recorded.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { isUserError } from '../../core/errors';
import { defineJob, defineTask, type JobMigration } from '../../core/job';
import { Names } from '../../core/names';
import { sqlId } from '../../store/identifiers';
import { appliedJobMigrations, appliedMigrations, LAYERS, migrate, MIGRATIONS } from '../../store/schema/migrations';
import { loadJobs } from '../../infra/jobs';
import { isMissingSchema } from '../../infra/sql-errors';
import { periodSucceeded } from '../../store/ledger/runs';
import { closeMysql, getMysql } from '../../infra/mysql';
import { gflow } from '../helpers/cli';
import { cliEnv, FIXTURE_JOBS, testConfig } from '../helpers/temporal';

const SHIPPED_JOBS = resolve(__dirname, '../../jobs');
const pool = () => getMysql(testConfig().mysqlUrl);
const prefixes: string[] = [];

function fresh(jobsDir = FIXTURE_JOBS) {
  const config = testConfig({ jobsDir });
  prefixes.push(config.prefix);
  return { config, names: new Names(config.prefix) };
}

async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
  return (await pool().query<RowDataPacket[]>(sql, params))[0];
}

async function columns(names: Names, table: string): Promise<string[]> {
  const found = await rows('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [names.schema('report'), table]);
  return found.map((r) => String(r.c));
}

after(async () => {
  try {
    for (const prefix of prefixes) for (const layer of LAYERS) await pool().query(`DROP DATABASE IF EXISTS ${sqlId(new Names(prefix).schema(layer))}`);
  } finally {
    await closeMysql();
  }
});

describe('gflow db migrate with a jobs folder', () => {
  test("creates a user job's declared table after gflow's own; a second run changes nothing", async () => {
    const { config, names } = fresh();
    const first = await gflow(['db', 'migrate'], cliEnv(config));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applied: 0001_meta_games, /m);
    assert.match(first.stdout, /^job tables: applied v1, v2$/m);
    assert.deepEqual(await columns(names, 'fixture_levels'), ['game_id', 'day', 'level', 'users', 'payers']);
    assert.deepEqual(await appliedJobMigrations(pool(), names), { tables: [1, 2] });
    const recorded = await rows(`SELECT job, version, description FROM ${sqlId(names.schema('meta'), 'job_migrations')} ORDER BY version`);
    assert.deepEqual(
      recorded.map((r) => [r.job, r.version, r.description]),
      [
        ['tables', 1, 'fixture_levels: users per game, day and level'],
        ['tables', 2, 'tables v2'],
      ],
    );

    const again = await gflow(['db', 'migrate', '--json'], cliEnv(config));
    assert.equal(again.code, 0, again.stderr);
    const shown = JSON.parse(again.stdout) as { applied: string[]; current: string; jobsDir: string; jobs: unknown[] };
    assert.deepEqual(shown.applied, []);
    assert.equal(shown.current, MIGRATIONS[MIGRATIONS.length - 1]!.version);
    assert.equal(shown.jobsDir, FIXTURE_JOBS);
    assert.deepEqual(shown.jobs, [{ job: 'tables', applied: [], current: 2 }]);
    assert.deepEqual(await columns(names, 'fixture_levels'), ['game_id', 'day', 'level', 'users', 'payers']);
    assert.deepEqual(await appliedJobMigrations(pool(), names), { tables: [1, 2] });
  });

  test("without a jobs folder it migrates gflow's own tables and says so", async () => {
    const { config, names } = fresh(resolve(FIXTURE_JOBS, 'no-such-folder'));
    const run = await gflow(['db', 'migrate'], cliEnv(config));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^jobs folder .*no-such-folder does not exist: no job's tables migrated$/m);
    assert.deepEqual(await appliedMigrations(pool(), names), MIGRATIONS.map((m) => m.version));
  });

  test('a job file that fails to load fails the command before anything is migrated', async () => {
    const { config, names } = fresh(resolve(__dirname, '../fixtures/throws'));
    const run = await gflow(['db', 'migrate'], cliEnv(config));
    assert.equal(run.code, 2, run.stdout);
    assert.match(run.stderr, /job file .*throws\.ts failed to load/);
    assert.deepEqual(await appliedMigrations(pool(), names), []);
  });
});

/** The report tables exactly as gflow's own migrations 0200..0203 created them before jobs declared their tables. */
function legacyReportMigrations(n: Names): Array<[version: string, description: string, ddl: string]> {
  const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
  const t = (name: string) => sqlId(n.schema('report'), name);
  return [
    ['0200_report_active', 'report_active: DAU, WAU, MAU and new users per game and day', `CREATE TABLE IF NOT EXISTS ${t('report_active')} (
        game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, dau INT UNSIGNED NOT NULL, wau INT UNSIGNED NOT NULL, mau INT UNSIGNED NOT NULL,
        new_users INT UNSIGNED NOT NULL, PRIMARY KEY (game_id, day), KEY day (day)) ${TABLE}`],
    ['0201_report_retention', 'report_retention: D1..D30 retention of each cohort day', `CREATE TABLE IF NOT EXISTS ${t('report_retention')} (
        game_id INT UNSIGNED NOT NULL, cohort_day DATE NOT NULL, new_users INT UNSIGNED NOT NULL, d1 INT UNSIGNED NULL, d2 INT UNSIGNED NULL,
        d3 INT UNSIGNED NULL, d7 INT UNSIGNED NULL, d14 INT UNSIGNED NULL, d30 INT UNSIGNED NULL, PRIMARY KEY (game_id, cohort_day), KEY cohort_day (cohort_day)) ${TABLE}`],
    ['0202_report_online', 'report_online: peak and average concurrent users per game and day', `CREATE TABLE IF NOT EXISTS ${t('report_online')} (
        game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, pcu INT UNSIGNED NOT NULL, acu DECIMAL(14,4) NOT NULL, buckets SMALLINT UNSIGNED NOT NULL,
        PRIMARY KEY (game_id, day), KEY day (day)) ${TABLE}`],
    ['0203_report_pay', 'report_pay: payers, revenue, pay rate, ARPU and ARPPU per game and day', `CREATE TABLE IF NOT EXISTS ${t('report_pay')} (
        game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, payers INT UNSIGNED NOT NULL, revenue DECIMAL(19,4) NOT NULL, pay_rate DECIMAL(7,6) NULL,
        arpu DECIMAL(19,4) NULL, arppu DECIMAL(19,4) NULL, PRIMARY KEY (game_id, day), KEY day (day)) ${TABLE}`],
  ];
}

describe('an upgrade that adds a column, before gflow db migrate', () => {
  test('the code reading it fails naming the fix, not retried; migrate adds the column and it reads again', async () => {
    const { names } = fresh();
    await migrate(pool(), names);
    // The state before 0013: no segment column, the version not applied.
    await pool().query(`ALTER TABLE ${sqlId(names.schema('meta'), 'ledger_runs')} DROP COLUMN segment`);
    await pool().query(`DELETE FROM ${sqlId(names.schema('meta'), 'schema_migrations')} WHERE version = '0013_ledger_runs_segment'`);
    await assert.rejects(periodSucceeded(pool(), names, 'x', 'y', '20261101'), (err: unknown) => {
      assert.equal((err as { errno?: number }).errno, 1054, String(err));
      assert.ok(isMissingSchema(err), 'what the CLI and activities turn into "run gflow db migrate", not retried');
      return true;
    });
    assert.deepEqual((await migrate(pool(), names)).applied, ['0013_ledger_runs_segment']);
    assert.equal(await periodSucceeded(pool(), names, 'x', 'y', '20261101'), false);
  });
});

describe('an installation migrated before jobs declared their tables', () => {
  test('upgrades without error or data loss, and the CLI then finds it up to date', async () => {
    const { config, names } = fresh(SHIPPED_JOBS);
    const report = (table: string) => sqlId(names.schema('report'), table);
    // The old state: gflow's own versions and the report tables' 0200..0203 in schema_migrations, no job bookkeeping, rows in the tables.
    await migrate(pool(), names);
    await pool().query(`DROP TABLE ${sqlId(names.schema('meta'), 'job_migrations')}`);
    for (const [version, description, ddl] of legacyReportMigrations(names)) {
      await pool().query(ddl);
      await pool().query(`INSERT INTO ${sqlId(names.schema('meta'), 'schema_migrations')} (version, description) VALUES (?, ?)`, [version, description]);
    }
    await pool().query(`INSERT INTO ${report('report_active')} VALUES (7, '2026-11-10', 5, 7, 9, 1), (8, '2026-11-10', 2, 2, 2, 0)`);
    await pool().query(`INSERT INTO ${report('report_retention')} (game_id, cohort_day, new_users, d1, d30) VALUES (7, '2026-11-09', 2, 1, NULL)`);
    await pool().query(`INSERT INTO ${report('report_pay')} VALUES (7, '2026-11-10', 2, 14.99, 0.4, 2.998, 7.495)`);
    const tables = ['report_active', 'report_retention', 'report_online', 'report_pay'];
    const definitions = async () => Promise.all(tables.map(async (t) => String((await rows(`SHOW CREATE TABLE ${report(t)}`))[0]!['Create Table'])));
    const before = { definitions: await definitions(), versions: await appliedMigrations(pool(), names) };

    const result = await migrate(pool(), names, { jobs: loadJobs(SHIPPED_JOBS).list() });
    assert.deepEqual(result.applied, []);
    assert.deepEqual(
      result.jobs.map((j) => `${j.job} v${j.version}`),
      ['report v1', 'report v2', 'report v3', 'report v4', 'report v5'],
    );
    assert.deepEqual(await definitions(), before.definitions, 'the tables are untouched');
    assert.deepEqual(await appliedMigrations(pool(), names), before.versions, "gflow's bookkeeping keeps its old rows");
    assert.deepEqual(
      (await rows(`SELECT game_id, day, dau, wau, mau, new_users FROM ${report('report_active')} ORDER BY game_id`)).map((r) => Object.values(r)),
      [
        [7, '2026-11-10', 5, 7, 9, 1],
        [8, '2026-11-10', 2, 2, 2, 0],
      ],
    );
    assert.deepEqual((await rows(`SELECT game_id, cohort_day, new_users, d1, d30 FROM ${report('report_retention')}`)).map((r) => Object.values(r)), [[7, '2026-11-09', 2, 1, null]]);
    assert.deepEqual((await rows(`SELECT CAST(revenue AS CHAR) AS r, CAST(arppu AS CHAR) AS a FROM ${report('report_pay')}`)).map((r) => [r.r, r.a]), [['14.9900', '7.4950']]);

    const cli = await gflow(['db', 'migrate'], cliEnv(config));
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^up to date at ${MIGRATIONS[MIGRATIONS.length - 1]!.version}$`, 'm'));
    assert.match(cli.stdout, /^job report: up to date at v5$/m);
  });

  test('a fresh installation gets the report tables from the report job, the same as before', async () => {
    const { names } = fresh(SHIPPED_JOBS);
    const legacy = fresh(SHIPPED_JOBS).names;
    await migrate(pool(), names, { jobs: loadJobs(SHIPPED_JOBS).list() });
    await migrate(pool(), legacy);
    for (const [, , ddl] of legacyReportMigrations(legacy)) await pool().query(ddl);
    for (const t of ['report_active', 'report_retention', 'report_online', 'report_pay']) {
      const show = async (n: Names) => String((await rows(`SHOW CREATE TABLE ${sqlId(n.schema('report'), t)}`))[0]!['Create Table']);
      assert.equal(await show(names), await show(legacy), t);
    }
  });
});

describe('job migrations', () => {
  const task = defineTask({ name: 't', breakExecute: true, execute: () => null });
  const job = (migrations: readonly JobMigration[], name = 'mig') => defineJob({ name, registerTask: [task], migrations });
  const refused = (pattern: RegExp) => (err: unknown) => isUserError(err) && err.exitCode === 2 && pattern.test(err.message);

  test('are checked when the job file loads', () => {
    assert.throws(() => job([{ version: 0, up: 'CREATE TABLE {report}.a (id INT)' }]), refused(/version must be a whole number from 1/));
    assert.throws(() => job([{ version: 2, up: 'CREATE TABLE {report}.a (id INT)' }, { version: 1, up: 'CREATE TABLE {report}.b (id INT)' }]), refused(/out of order/));
    assert.throws(() => job([{ version: 1, up: 'CREATE TABLE a (id INT)' }]), refused(/name tables as \{report\}\.table/));
    assert.throws(() => job([{ version: 1, up: 'CREATE TABLE {meta}.a (id INT) -- {report}' }]), refused(/unknown placeholder \{meta\}/));
    assert.throws(() => job([{ version: 1, up: [] }]), refused(/non-empty list/));
    assert.deepEqual(job([{ version: 1, up: ' CREATE TABLE {report}.a (id INT);; ' }]).migrations, [{ version: 1, description: 'mig v1', up: ['CREATE TABLE {report}.a (id INT)'] }]);
  });

  test('run in the escaped report schema under the migrate lock: one of two concurrent migrators applies them', async () => {
    const { names } = fresh();
    const jobs = [job([{ version: 1, up: 'CREATE TABLE IF NOT EXISTS {report}.mig_a (id INT PRIMARY KEY)' }])];
    const results = await Promise.all([migrate(pool(), names, { jobs }), migrate(pool(), names, { jobs })]);
    assert.deepEqual(results.map((r) => r.jobs.length).sort(), [0, 1]);
    assert.deepEqual(await columns(names, 'mig_a'), ['id']);
  });

  test('a failing statement names the job and version, is not recorded, and runs again once fixed', async () => {
    const { names } = fresh();
    const good = { version: 1, up: 'CREATE TABLE IF NOT EXISTS {report}.mig_b (id INT PRIMARY KEY)' };
    const broken = job([good, { version: 2, up: 'ALTER TABLE {report}.mig_b ADD COLUMN oops NOT_A_TYPE' }]);
    await assert.rejects(migrate(pool(), names, { jobs: [broken] }), (err: unknown) => isUserError(err) && err.exitCode === 1 && /^job mig, migration 2 \(mig v2\) failed: /.test(err.message));
    assert.deepEqual(await appliedJobMigrations(pool(), names), { mig: [1] });
    const fixed = job([good, { version: 2, up: 'ALTER TABLE {report}.mig_b ADD COLUMN IF NOT EXISTS fine INT NULL' }]);
    assert.deepEqual((await migrate(pool(), names, { jobs: [fixed] })).jobs.map((j) => j.version), [2]);
    assert.deepEqual(await columns(names, 'mig_b'), ['id', 'fine']);
  });
});
