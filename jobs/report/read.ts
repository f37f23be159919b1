/**
 * Reading the report tables back, for people (`gflow demo`) and front ends:
 * the day's figures of all four tables side by side, and the retention
 * triangle. Decimals arrive as numbers (the pool's `decimalNumbers`).
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { reportTableId, type Names } from 'gflow';
import { RETENTION_DAYS, type RetentionDay } from './compute';
import { REPORT_TABLES } from './schema';
import { dateOf } from './tables';

/** One game-day of `report_active`, `report_online` and `report_pay`; `null` where a table has no row. */
export interface DailyReport {
  readonly game: number;
  /** `YYYY-MM-DD`. */
  readonly day: string;
  readonly dau: number | null;
  readonly wau: number | null;
  readonly mau: number | null;
  readonly newUsers: number | null;
  readonly pcu: number | null;
  readonly acu: number | null;
  readonly payers: number | null;
  readonly revenue: number | null;
  readonly payRate: number | null;
  readonly arpu: number | null;
  readonly arppu: number | null;
}

/** One cohort of `report_retention`: `retained[N]` is `dN`, `null` until day cohort + N is computed. */
export interface CohortReport {
  readonly game: number;
  readonly cohortDay: string;
  readonly newUsers: number;
  readonly retained: Readonly<Record<RetentionDay, number | null>>;
}

/** Days `first`..`last` (`YYYYMMDD`) of `games`, by game and day, from whichever tables have rows. */
export async function readDaily(mysql: Pool, names: Names, games: readonly number[], first: string, last: string): Promise<DailyReport[]> {
  if (games.length === 0) return [];
  const t = (name: string) => reportTableId(names, name);
  const inGames = games.map(() => '?').join(', ');
  // Every table may lack a day (a task not yet run): start from the union of their keys.
  const keys = [REPORT_TABLES.active, REPORT_TABLES.online, REPORT_TABLES.pay]
    .map((name) => `SELECT game_id, day FROM ${t(name)} WHERE game_id IN (${inGames}) AND day BETWEEN ? AND ?`)
    .join(' UNION ');
  const [rows] = await mysql.query<RowDataPacket[]>(
    `SELECT k.game_id, k.day, a.dau, a.wau, a.mau, a.new_users, o.pcu, o.acu, p.payers, p.revenue, p.pay_rate, p.arpu, p.arppu
     FROM (${keys}) k
     LEFT JOIN ${t(REPORT_TABLES.active)} a ON a.game_id = k.game_id AND a.day = k.day
     LEFT JOIN ${t(REPORT_TABLES.online)} o ON o.game_id = k.game_id AND o.day = k.day
     LEFT JOIN ${t(REPORT_TABLES.pay)} p ON p.game_id = k.game_id AND p.day = k.day
     ORDER BY k.game_id, k.day`,
    [0, 1, 2].flatMap(() => [...games, dateOf(first), dateOf(last)]),
  );
  return rows.map((r) => ({
    game: Number(r.game_id),
    day: String(r.day),
    dau: numberOrNull(r.dau),
    wau: numberOrNull(r.wau),
    mau: numberOrNull(r.mau),
    newUsers: numberOrNull(r.new_users),
    pcu: numberOrNull(r.pcu),
    acu: numberOrNull(r.acu),
    payers: numberOrNull(r.payers),
    revenue: numberOrNull(r.revenue),
    payRate: numberOrNull(r.pay_rate),
    arpu: numberOrNull(r.arpu),
    arppu: numberOrNull(r.arppu),
  }));
}

/** Cohorts `first`..`last` of `games`, by game and cohort day. */
export async function readCohorts(mysql: Pool, names: Names, games: readonly number[], first: string, last: string): Promise<CohortReport[]> {
  if (games.length === 0) return [];
  const dn = RETENTION_DAYS.map((n) => `d${n}`).join(', ');
  const [rows] = await mysql.query<RowDataPacket[]>(
    `SELECT game_id, cohort_day, new_users, ${dn} FROM ${reportTableId(names, REPORT_TABLES.retention)}
     WHERE game_id IN (${games.map(() => '?').join(', ')}) AND cohort_day BETWEEN ? AND ? ORDER BY game_id, cohort_day`,
    [...games, dateOf(first), dateOf(last)],
  );
  return rows.map((r) => ({
    game: Number(r.game_id),
    cohortDay: String(r.cohort_day),
    newUsers: Number(r.new_users),
    retained: Object.fromEntries(RETENTION_DAYS.map((n) => [n, numberOrNull(r[`d${n}`])])) as Record<RetentionDay, number | null>,
  }));
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
