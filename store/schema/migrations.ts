/**
 * The MySQL layers (DESIGN.md "Storage"): four schemas per installation,
 * `<prefix>_meta` (games registry, configuration, run records), `<prefix>_tag`
 * (per-game user tags), `<prefix>_report` (report tables, rerun backups and
 * diffs; their tables belong to the report jobs) and `<prefix>_log` (raw
 * events, reserved), and versioned tables in them.
 *
 * MySQL commits DDL implicitly, so a migration cannot be rolled back: every
 * statement is written to be re-runnable (`IF NOT EXISTS`), and a version is
 * recorded only after all its statements ran. A migrator killed half way
 * simply runs that version again. A named lock keeps two migrators (two
 * slaves starting at once) from interleaving.
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { sqlId } from '../identifiers';
import { REPORT_MIGRATIONS } from './report-migrations';
import { RERUN_MIGRATIONS } from '../reruns/backup';
import { isMissingSchema } from '../../infra/sql-errors';

/** One versioned change: statements built from the installation's names. */
export interface Migration {
  /** Sortable and unique, e.g. `0001_meta_games`. */
  readonly version: string;
  readonly description: string;
  readonly up: (names: Names) => readonly string[];
}

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** gflow's own migrations, in order. Other modules may append theirs (see {@link migrate}). */
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
    version: '0003_meta_runs',
    description: 'run records: one row per run and game (game 0: the run itself)',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('meta'), 'runs')} (
        run_id VARCHAR(255) NOT NULL,
        game_id INT UNSIGNED NOT NULL DEFAULT 0,
        job VARCHAR(100) NOT NULL,
        task VARCHAR(64) NOT NULL,
        period VARCHAR(16) NOT NULL,
        status VARCHAR(16) NOT NULL,
        error TEXT NULL,
        started_at DATETIME(3) NULL,
        finished_at DATETIME(3) NULL,
        PRIMARY KEY (run_id, game_id),
        KEY job_task_period (job, task, period)
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
    version: '0005_log_events',
    description: 'raw events (reserved)',
    up: (n) => [
      `CREATE TABLE IF NOT EXISTS ${sqlId(n.schema('log'), 'events')} (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        game_id INT UNSIGNED NOT NULL,
        user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        type VARCHAR(16) NOT NULL,
        ts DATETIME(3) NOT NULL,
        server INT NULL,
        channel VARCHAR(64) NULL,
        amount DECIMAL(19,4) NULL,
        order_id VARCHAR(128) NULL,
        KEY game_ts (game_id, ts)
      ) ${TABLE}`,
    ],
  },
];

/** gflow's migrations, in order: the base layers, the rerun store's tables, the report tables. */
export const MIGRATIONS: readonly Migration[] = [...BASE_MIGRATIONS, ...RERUN_MIGRATIONS, ...REPORT_MIGRATIONS];

export const LAYERS = ['meta', 'tag', 'report', 'log'] as const;

/**
 * Create the four schemas and apply every migration not yet recorded in
 * `<prefix>_meta.schema_migrations`. Idempotent: a second call applies nothing.
 * @param migrations gflow's by default; pass `[...MIGRATIONS, ...yours]` to add tables.
 * @returns the versions applied by this call, in order.
 */
export async function migrate(pool: Pool, names: Names, migrations: readonly Migration[] = MIGRATIONS): Promise<{ applied: string[] }> {
  checkOrder(migrations);
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
      for (const m of migrations) {
        if (have.has(m.version)) continue;
        for (const statement of m.up(names)) await conn.query(statement);
        await conn.query(`INSERT INTO ${table} (version, description) VALUES (?, ?)`, [m.version, m.description]);
        applied.push(m.version);
      }
      return { applied };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]);
    }
  } finally {
    conn.release();
  }
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

function checkOrder(migrations: readonly Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version <= migrations[i - 1]!.version) {
      throw usageError(`migration ${migrations[i]!.version} is out of order or repeated: versions must increase`);
    }
  }
}
