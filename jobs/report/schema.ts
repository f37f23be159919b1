/**
 * The report job's tables, in `<prefix>_report`, as the job declares them
 * (`defineJob({ migrations })`; `gflow db migrate` creates them): one row per
 * game and day (retention: per game and cohort day), written by idempotent
 * upserts on the primary key.
 *
 * No `updated_at` column on purpose: reruns diff every column, and a
 * timestamp would make every recomputed row look changed.
 *
 * Installations migrated before jobs declared their tables have these tables
 * already (gflow's old versions `0200_report_*`); versions 1 to 4 create
 * them only if missing (`IF NOT EXISTS`) and are then recorded: no data moves.
 * Version 5 adds the segment tables (`report_segment_active`, `report_segment_pay`):
 * the same figures for a server range and/or a channel, one row per game,
 * day and segment, written only by reruns with `-s` / `-c` (jobs/report.ts).
 */
import type { JobMigration } from 'gflow';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const COUNT = 'INT UNSIGNED NOT NULL';
/** Retention columns start NULL: not computable until day cohort + N has been computed. */
const LATER = 'INT UNSIGNED NULL';
/** Amounts as the events carry them: at most 4 decimal places. */
const MONEY = 'DECIMAL(19,4)';

/** The report tables' names: the four daily tables, and the segment tables filtered reruns write. */
export const REPORT_TABLES = {
  active: 'report_active',
  retention: 'report_retention',
  online: 'report_online',
  pay: 'report_pay',
  segmentActive: 'report_segment_active',
  segmentPay: 'report_segment_pay',
} as const;

/**
 * A segment's name in the segment tables: what a rerun's `-s` / `-c` asked
 * for (`server=3-5`, `server=7`, `channel=ads`, `server=3-5;channel=ads`:
 * tables.ts `segmentLabel`). Binary collation: channels compare as spelled.
 */
const SEGMENT = 'VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';

/** The report job's migrations. Append new versions; never edit a shipped one. */
export const REPORT_MIGRATIONS: readonly JobMigration[] = [
  {
    version: 1,
    description: 'report_active: DAU, WAU, MAU and new users per game and day',
    up: `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.active} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        dau ${COUNT},
        wau ${COUNT},
        mau ${COUNT},
        new_users ${COUNT},
        PRIMARY KEY (game_id, day),
        KEY day (day)
      ) ${TABLE}`,
  },
  {
    version: 2,
    description: 'report_retention: D1..D30 retention of each cohort day',
    up: `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.retention} (
        game_id INT UNSIGNED NOT NULL,
        cohort_day DATE NOT NULL,
        new_users ${COUNT},
        d1 ${LATER},
        d2 ${LATER},
        d3 ${LATER},
        d7 ${LATER},
        d14 ${LATER},
        d30 ${LATER},
        PRIMARY KEY (game_id, cohort_day),
        KEY cohort_day (cohort_day)
      ) ${TABLE}`,
  },
  {
    version: 3,
    description: 'report_online: peak and average concurrent users per game and day',
    up: `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.online} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        pcu ${COUNT},
        acu DECIMAL(14,4) NOT NULL,
        buckets SMALLINT UNSIGNED NOT NULL,
        PRIMARY KEY (game_id, day),
        KEY day (day)
      ) ${TABLE}`,
  },
  {
    version: 4,
    description: 'report_pay: payers, revenue, pay rate, ARPU and ARPPU per game and day',
    up: `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.pay} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        payers ${COUNT},
        revenue ${MONEY} NOT NULL,
        pay_rate DECIMAL(7,6) NULL,
        arpu ${MONEY} NULL,
        arppu ${MONEY} NULL,
        PRIMARY KEY (game_id, day),
        KEY day (day)
      ) ${TABLE}`,
  },
  {
    version: 5,
    description: 'report_segment_active, report_segment_pay: the active and pay rows of a server range and/or channel (reruns with -s / -c)',
    up: [
      `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.segmentActive} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        segment ${SEGMENT},
        dau ${COUNT},
        wau ${COUNT},
        mau ${COUNT},
        new_users ${COUNT},
        PRIMARY KEY (game_id, day, segment),
        KEY day (day)
      ) ${TABLE}`,
      `CREATE TABLE IF NOT EXISTS {report}.${REPORT_TABLES.segmentPay} (
        game_id INT UNSIGNED NOT NULL,
        day DATE NOT NULL,
        segment ${SEGMENT},
        payers ${COUNT},
        revenue ${MONEY} NOT NULL,
        pay_rate DECIMAL(7,6) NULL,
        arpu ${MONEY} NULL,
        arppu ${MONEY} NULL,
        PRIMARY KEY (game_id, day, segment),
        KEY day (day)
      ) ${TABLE}`,
    ],
  },
];
