/**
 * The MySQL layers (docs/architecture.md "Storage"): four schemas per installation,
 * `<prefix>_meta` (games registry, configuration, the ledger), `<prefix>_tag`
 * (per-game user tags), `<prefix>_report` (report tables, rerun backups and
 * diffs) and `<prefix>_log` (kept for jobs' own logs; gflow writes none), and versioned tables in
 * them: gflow's own ({@link MIGRATIONS}), then each job's (the report tables
 * its tasks write, declared with `defineJob({ migrations })`).
 *
 * MySQL commits DDL implicitly, so a migration cannot be rolled back: every
 * statement is written to be re-runnable (`IF NOT EXISTS`), and a version is
 * recorded only after all its statements ran. A migrator killed half way
 * simply runs that version again. A named lock keeps two migrators (two
 * `gflow db migrate` at once) from interleaving.
 *
 * Bookkeeping: gflow's versions in `<prefix>_meta.schema_migrations`, jobs'
 * in `<prefix>_meta.job_migrations` (job, version). Installations migrated
 * before jobs declared their tables keep their old `0200_report_*` rows in
 * `schema_migrations`; the report job's versions then find the tables there
 * (`CREATE TABLE IF NOT EXISTS`) and are recorded, nothing else changes.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import { REPORT_SCHEMA_PLACEHOLDER, type Job, type JobMigration } from '../../core/job';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import { ddlUnlessPresent, type Migration } from './migration';
import { RERUN_MIGRATIONS } from '../reruns/backup';
import { LEDGER_MIGRATIONS } from '../ledger/schema';
import { ANALYSIS_MIGRATIONS } from '../ledger/analyses';
import { isMissingSchema } from '../../infra/sql-errors';

export type { Migration } from './migration';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** The base layers' tables. Add a table here (or a list like {@link RERUN_MIGRATIONS} below) with a new, higher version. */
// 0003 (meta.runs) and 0005 (log.events) are gone: nothing ever wrote them, the ledger (0010) replaced
// the first and drops both where an earlier version created them.
const BASE_MIGRATIONS: readonly Migration[] = [
  {
    version: '0001_meta_games',
    description: 'games registry',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('meta'), 'games')} (
        id INT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(128) NOT NULL,
        tz VARCHAR(64) NULL,
        redis_url VARCHAR(1024) NULL,
        mysql_url VARCHAR(1024) NULL,
        enabled TINYINT(1) NOT NULL DEFAULT 1,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
      ) ${TABLE}`,
    ],
  },
  {
    version: '0002_meta_config',
    description: 'configuration landed from Redis',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('meta'), 'config')} (
        name VARCHAR(128) NOT NULL PRIMARY KEY,
        value TEXT NOT NULL,
        landed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
      ) ${TABLE}`,
    ],
  },
  {
    version: '0004_tag_user_tags',
    description: 'per-game user tags',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('tag'), 'user_tags')} (
        game_id INT UNSIGNED NOT NULL,
        user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        tag VARCHAR(64) NOT NULL,
        value VARCHAR(255) NULL,
        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        PRIMARY KEY (game_id, user_id, tag),
        KEY game_tag (game_id, tag)
      ) ${TABLE}`,
    ],
  },
  {
    version: '0006_meta_games_updated_by',
    description: 'games registry: who last changed a game (user@host)',
    // Re-runnable on MySQL and MariaDB alike (MySQL has no ADD COLUMN IF NOT EXISTS): add the column only if it is missing.
    up: (n) => ddlUnlessPresent(n.schema('meta'), 'games', { column: 'updated_by' }, `ALTER TABLE ${sqlId(n.schema('meta'), 'games')} ADD COLUMN updated_by VARCHAR(255) NULL AFTER updated_at`),
  },
];

/**
 * gflow's own migrations, in version order: the base layers, then the rerun
 * store's tables. Report tables are not here: each job declares its own.
 */
export const MIGRATIONS: readonly Migration[] = inVersionOrder([...BASE_MIGRATIONS, ...RERUN_MIGRATIONS, ...LEDGER_MIGRATIONS, ...ANALYSIS_MIGRATIONS]);

export const LAYERS = ['meta', 'tag', 'report', 'log'] as const;

/** A job as the migrator needs it: its name and declared migrations (a loaded `Job` is one). */
export type MigratingJob = Pick<Job, 'name' | 'migrations'>;

export interface MigrateOptions {
  /**
   * Jobs whose declared migrations to apply after gflow's own, in job-name
   * order: `loadJobs(dir).list()`. @defaultValue none: gflow's own tables only
   */
  readonly jobs?: readonly MigratingJob[];
}

/** One job migration applied. */
export interface AppliedJobMigration {
  readonly job: string;
  readonly version: number;
  readonly description: string;
}

export interface MigrateResult {
  /** gflow's own versions applied by this call, in order. */
  readonly applied: string[];
  /** Job migrations applied by this call, by job then version. */
  readonly jobs: AppliedJobMigration[];
}

/**
 * Create the four schemas, apply every gflow migration not yet recorded in
 * `<prefix>_meta.schema_migrations`, then every migration of `options.jobs`
 * not yet recorded in `<prefix>_meta.job_migrations`, all under one named
 * lock. Idempotent: a second call applies nothing.
 *
 * @example
 * ```ts
 * const { applied, jobs } = await migrate(pool, names, { jobs: loadJobs(config.jobsDir).list() });
 * ```
 * @returns what this call applied, in order.
 */
export async function migrate(pool: Pool, names: Names, options: MigrateOptions = {}): Promise<MigrateResult> {
  const jobs = [...(options.jobs ?? [])].filter((j) => (j.migrations ?? []).length > 0).sort((a, b) => a.name.localeCompare(b.name));
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) throw usageError(`job ${job.name} is given twice to migrate`);
    seen.add(job.name);
  }
  const conn = await pool.getConnection();
  const lock = `${names.prefix}.migrate`;
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 60) AS got', [lock]);
    if (rows[0]?.got !== 1) throw failure(`another gflow db migrate holds the lock ${lock} for over 60 s; try again`);
    try {
      for (const layer of LAYERS) {
        await conn.query(`CREATE DATABASE IF NOT EXISTS ${sqlId(names.schema(layer))} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      }
      const table = sqlId(names.schema('meta'), 'schema_migrations');
      await conn.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
          version VARCHAR(64) NOT NULL PRIMARY KEY,
          description VARCHAR(255) NOT NULL,
          applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
        ) ${TABLE}`,
      );
      const [done] = await conn.query<RowDataPacket[]>(`SELECT version FROM ${table}`);
      const have = new Set(done.map((r) => String(r.version)));
      const applied: string[] = [];
      for (const m of MIGRATIONS) {
        if (have.has(m.version)) continue;
        for (const statement of m.up(names)) await conn.query(statement);
        await conn.query(`INSERT INTO ${table} (version, description) VALUES (?, ?)`, [m.version, m.description]);
        applied.push(m.version);
      }
      return { applied, jobs: await migrateJobs(conn, names, jobs) };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    conn.release();
  }
}

/** The jobs' pending migrations, on the connection holding the lock. */
async function migrateJobs(conn: PoolConnection, names: Names, jobs: readonly MigratingJob[]): Promise<AppliedJobMigration[]> {
  const table = sqlId(names.schema('meta'), JOB_MIGRATIONS_TABLE);
  await conn.query(
    `CREATE TABLE IF NOT EXISTS ${table} (
      job VARCHAR(100) NOT NULL,
      version INT UNSIGNED NOT NULL,
      description VARCHAR(255) NOT NULL,
      applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (job, version)
    ) ${TABLE}`,
  );
  if (jobs.length === 0) return [];
  const [done] = await conn.query<RowDataPacket[]>(`SELECT job, version FROM ${table} WHERE job IN (?)`, [jobs.map((j) => j.name)]);
  const have = new Set(done.map((r) => `${String(r.job)}@${Number(r.version)}`));
  const applied: AppliedJobMigration[] = [];
  for (const job of jobs) {
    for (const m of job.migrations ?? []) {
      if (have.has(`${job.name}@${m.version}`)) continue;
      const description = m.description ?? `${job.name} v${m.version}`;
      for (const statement of jobStatements(names, m)) {
        try {
          await conn.query(statement);
        } catch (err) {
          throw failure(`job ${job.name}, migration ${m.version} (${description}) failed: ${(err as Error).message}`, err);
        }
      }
      await conn.query(`INSERT INTO ${table} (job, version, description) VALUES (?, ?, ?)`, [job.name, m.version, description]);
      applied.push({ job: job.name, version: m.version, description });
    }
  }
  return applied;
}

const JOB_MIGRATIONS_TABLE = 'job_migrations';

/**
 * A job migration's statements for this installation: `{report}` becomes the
 * escaped report schema, the one name a job's DDL may use.
 */
export function jobStatements(names: Names, migration: JobMigration): string[] {
  const schema = sqlId(names.schema('report'));
  const list = typeof migration.up === 'string' ? [migration.up] : migration.up;
  return list.map((statement) => statement.trim().replace(/;+$/, '').replaceAll(REPORT_SCHEMA_PLACEHOLDER, schema));
}

/** Versions recorded as applied, oldest first; empty when the meta schema does not exist yet. */
export async function appliedMigrations(pool: Pool, names: Names): Promise<string[]> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT version FROM ${sqlId(names.schema('meta'), 'schema_migrations')} ORDER BY version`);
    return rows.map((r) => String(r.version));
  } catch (err) {
    if (isMissingSchema(err)) return [];
    throw err;
  }
}

/** Each job's applied versions, in order; empty when nothing is recorded yet. */
export async function appliedJobMigrations(pool: Pool, names: Names): Promise<Record<string, number[]>> {
  let rows: RowDataPacket[];
  try {
    [rows] = await pool.query<RowDataPacket[]>(`SELECT job, version FROM ${sqlId(names.schema('meta'), JOB_MIGRATIONS_TABLE)} ORDER BY job, version`);
  } catch (err) {
    if (isMissingSchema(err)) return {};
    throw err;
  }
  const out: Record<string, number[]> = {};
  for (const r of rows) (out[String(r.job)] ??= []).push(Number(r.version));
  return out;
}

/** Sort by version; a version given twice is a bug, refused when gflow loads. */
function inVersionOrder(migrations: readonly Migration[]): readonly Migration[] {
  const sorted = [...migrations].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) throw usageError(`migration ${sorted[i]!.version} is declared twice: versions must be unique`);
  }
  return Object.freeze(sorted);
}
