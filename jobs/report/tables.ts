/**
 * The `report` job's tables as the job API declares them (what reruns back
 * up, check and diff), their consistency checks, and the idempotent upserts
 * that write them. Table definitions: data/report-migrations.ts.
 */
import type { Pool } from 'mysql2/promise';
import { failure } from '../../core/errors';
import type { Names } from '../../core/names';
import type { Period } from '../../core/period';
import type { ReportCheck, ReportTable } from '../../core/report';
import { REPORT_TABLES, reportTableId } from '../../store/schema/report-migrations';
import { isMissingSchema } from '../../infra/sql-errors';
import { cohortDays, RETENTION_DAYS, type ActiveFigures, type CohortCell, type OnlineFigures, type PayFigures } from './compute';

/** `YYYYMMDD` → `YYYY-MM-DD`, as a DATE column reads it. */
export function dateOf(day: string): string {
  return `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
}

export const ACTIVE_TABLE: ReportTable = { table: REPORT_TABLES.active, periodColumn: 'day' };
export const ONLINE_TABLE: ReportTable = { table: REPORT_TABLES.online, periodColumn: 'day' };
export const PAY_TABLE: ReportTable = { table: REPORT_TABLES.pay, periodColumn: 'day' };
/** Computing day D writes the cohorts D, D−1, D−2, D−3, D−7, D−14, D−30: a rerun of D backs up and diffs exactly those rows. */
export const RETENTION_TABLE: ReportTable = {
  table: REPORT_TABLES.retention,
  periodColumn: 'cohort_day',
  periodValues: (period: Period) => cohortDays(period.key).map(dateOf),
};

const everyGame = (table: string): ReportCheck => ({ kind: 'rowPerGame', table });

export const ACTIVE_CHECKS: readonly ReportCheck[] = [
  { kind: 'ordered', table: REPORT_TABLES.active, columns: ['new_users', 'dau', 'wau', 'mau'] },
  everyGame(REPORT_TABLES.active),
];

/** One `dN ≤ new_users` per retention day: `ordered` compares neighbours, and d7 may well exceed d3. */
export const RETENTION_CHECKS: readonly ReportCheck[] = [
  ...RETENTION_DAYS.map((n): ReportCheck => ({ kind: 'ordered', table: REPORT_TABLES.retention, columns: [`d${n}`, 'new_users'] })),
  everyGame(REPORT_TABLES.retention),
];

export const ONLINE_CHECKS: readonly ReportCheck[] = [
  { kind: 'ordered', table: REPORT_TABLES.online, columns: ['acu', 'pcu'] },
  everyGame(REPORT_TABLES.online),
];

export const PAY_CHECKS: readonly ReportCheck[] = [
  { kind: 'range', table: REPORT_TABLES.pay, column: 'pay_rate', min: 0, max: 1 },
  everyGame(REPORT_TABLES.pay),
];

/** Upsert `report_active` for (game, day). */
export function writeActive(mysql: Pool, names: Names, game: number, day: string, f: ActiveFigures): Promise<void> {
  return upsert(mysql, names, REPORT_TABLES.active, ['game_id', 'day', 'dau', 'wau', 'mau', 'new_users'], [[game, dateOf(day), f.dau, f.wau, f.mau, f.newUsers]], {
    dau: 'VALUES(dau)',
    wau: 'VALUES(wau)',
    mau: 'VALUES(mau)',
    new_users: 'VALUES(new_users)',
  });
}

/**
 * Upsert the cohort rows one day's retention touches, in one statement.
 * Each cell fills only its own `dN`; the other retention columns keep what
 * other days wrote (COALESCE), so days may be computed in any order.
 */
export function writeRetention(mysql: Pool, names: Names, game: number, cells: readonly CohortCell[]): Promise<void> {
  const dn = RETENTION_DAYS.map((n) => `d${n}`);
  const rows = cells.map((c) => [game, dateOf(c.cohort), c.newUsers, ...RETENTION_DAYS.map((n) => (c.n === n ? c.retained! : null))]);
  const update: Record<string, string> = { new_users: 'VALUES(new_users)' };
  for (const column of dn) update[column] = `COALESCE(VALUES(${column}), ${column})`;
  return upsert(mysql, names, REPORT_TABLES.retention, ['game_id', 'cohort_day', 'new_users', ...dn], rows, update);
}

/** Upsert `report_online` for (game, day). */
export function writeOnline(mysql: Pool, names: Names, game: number, day: string, f: OnlineFigures): Promise<void> {
  return upsert(mysql, names, REPORT_TABLES.online, ['game_id', 'day', 'pcu', 'acu', 'buckets'], [[game, dateOf(day), f.pcu, f.acu, f.buckets]], {
    pcu: 'VALUES(pcu)',
    acu: 'VALUES(acu)',
    buckets: 'VALUES(buckets)',
  });
}

/** Upsert `report_pay` for (game, day). */
export function writePay(mysql: Pool, names: Names, game: number, day: string, f: PayFigures): Promise<void> {
  const row = [game, dateOf(day), f.payers, f.revenue, f.payRate, f.arpu, f.arppu];
  return upsert(mysql, names, REPORT_TABLES.pay, ['game_id', 'day', 'payers', 'revenue', 'pay_rate', 'arpu', 'arppu'], [row], {
    payers: 'VALUES(payers)',
    revenue: 'VALUES(revenue)',
    pay_rate: 'VALUES(pay_rate)',
    arpu: 'VALUES(arpu)',
    arppu: 'VALUES(arppu)',
  });
}

type Cell = string | number | null;

/**
 * INSERT … ON DUPLICATE KEY UPDATE on the table's primary key (game and
 * day): a retry or a rerun overwrites, never duplicates. Column names are
 * this module's constants; values always travel as placeholders.
 */
async function upsert(mysql: Pool, names: Names, table: string, columns: readonly string[], rows: readonly Cell[][], update: Record<string, string>): Promise<void> {
  const placeholders = rows.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
  const sets = Object.entries(update).map(([column, value]) => `${column} = ${value}`).join(', ');
  try {
    await mysql.query(`INSERT INTO ${reportTableId(names, table)} (${columns.join(', ')}) VALUES ${placeholders} ON DUPLICATE KEY UPDATE ${sets}`, rows.flat());
  } catch (err) {
    if (isMissingSchema(err)) throw failure(`report table ${names.schema('report')}.${table} does not exist: run gflow db migrate`, err);
    throw err;
  }
}
