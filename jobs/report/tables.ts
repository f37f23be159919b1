/**
 * The `report` job's tables as the job API declares them (what reruns back
 * up, check and diff), their consistency checks, and the idempotent upserts
 * that write them. Table definitions: ./schema.ts.
 */
import type { Pool } from 'mysql2/promise';
import { upsertReport, type Names, type Period, type ReportCheck, type ReportTable, type RunFilters, type SegmentFilter } from 'gflow';
import { cohortDays, RETENTION_DAYS, type ActiveFigures, type CohortCell, type OnlineFigures, type PayFigures } from './compute';
import { REPORT_TABLES } from './schema';

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

/** The segment tables: keyed by game, day and segment as well (a rerun of `-s 3,5` backs up, diffs and restores every segment of its days). */
export const SEGMENT_ACTIVE_TABLE: ReportTable = { table: REPORT_TABLES.segmentActive, periodColumn: 'day', keyColumns: ['segment'] };
export const SEGMENT_PAY_TABLE: ReportTable = { table: REPORT_TABLES.segmentPay, periodColumn: 'day', keyColumns: ['segment'] };

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

/**
 * A segment's rows obey the same orders (its new users are among its active
 * users, its payers among them too). No row-per-game check: scheduled runs
 * write no segment rows, and a filtered rerun writes only its own segment.
 */
export const SEGMENT_ACTIVE_CHECKS: readonly ReportCheck[] = [{ kind: 'ordered', table: REPORT_TABLES.segmentActive, columns: ['new_users', 'dau', 'wau', 'mau'] }];
export const SEGMENT_PAY_CHECKS: readonly ReportCheck[] = [{ kind: 'range', table: REPORT_TABLES.segmentPay, column: 'pay_rate', min: 0, max: 1 }];

/** The segment a rerun's `-s` / `-c` ask for, or `undefined` for the whole game (`-g` alone, or a scheduled run). */
export function segmentOf(filters: RunFilters): SegmentFilter | undefined {
  if (!filters.servers && filters.channel === undefined) return undefined;
  return { ...(filters.servers && { servers: filters.servers }), ...(filters.channel !== undefined && { channel: filters.channel }) };
}

/**
 * The `segment` column of a segment: `server=3-5` (`server=7` for one
 * server), `channel=ads`, both joined by `;` (`server=3-5;channel=ads`).
 * The server part never holds `;`, and the channel comes last, so a label
 * reads back unambiguously whatever the channel.
 */
export function segmentLabel(segment: SegmentFilter): string {
  const parts: string[] = [];
  if (segment.servers) parts.push(`server=${segment.servers.from === segment.servers.to ? segment.servers.from : `${segment.servers.from}-${segment.servers.to}`}`);
  if (segment.channel !== undefined) parts.push(`channel=${segment.channel}`);
  return parts.join(';');
}

/** Upsert `report_active` for (game, day). */
export function writeActive(mysql: Pool, names: Names, game: number, day: string, f: ActiveFigures): Promise<void> {
  return upsertReport(mysql, names, REPORT_TABLES.active, ['game_id', 'day', 'dau', 'wau', 'mau', 'new_users'], [[game, dateOf(day), f.dau, f.wau, f.mau, f.newUsers]], ['dau', 'wau', 'mau', 'new_users']);
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
  return upsertReport(mysql, names, REPORT_TABLES.retention, ['game_id', 'cohort_day', 'new_users', ...dn], rows, update);
}

/** Upsert `report_online` for (game, day). */
export function writeOnline(mysql: Pool, names: Names, game: number, day: string, f: OnlineFigures): Promise<void> {
  return upsertReport(mysql, names, REPORT_TABLES.online, ['game_id', 'day', 'pcu', 'acu', 'buckets'], [[game, dateOf(day), f.pcu, f.acu, f.buckets]], ['pcu', 'acu', 'buckets']);
}

/** Upsert `report_pay` for (game, day). */
export function writePay(mysql: Pool, names: Names, game: number, day: string, f: PayFigures): Promise<void> {
  const row = [game, dateOf(day), f.payers, f.revenue, f.payRate, f.arpu, f.arppu];
  return upsertReport(mysql, names, REPORT_TABLES.pay, ['game_id', 'day', 'payers', 'revenue', 'pay_rate', 'arpu', 'arppu'], [row], ['payers', 'revenue', 'pay_rate', 'arpu', 'arppu']);
}

/** Upsert `report_segment_active` for (game, day, segment). */
export function writeSegmentActive(mysql: Pool, names: Names, game: number, day: string, segment: string, f: ActiveFigures): Promise<void> {
  return upsertReport(
    mysql,
    names,
    REPORT_TABLES.segmentActive,
    ['game_id', 'day', 'segment', 'dau', 'wau', 'mau', 'new_users'],
    [[game, dateOf(day), segment, f.dau, f.wau, f.mau, f.newUsers]],
    ['dau', 'wau', 'mau', 'new_users'],
  );
}

/** Upsert `report_segment_pay` for (game, day, segment). */
export function writeSegmentPay(mysql: Pool, names: Names, game: number, day: string, segment: string, f: PayFigures): Promise<void> {
  const row = [game, dateOf(day), segment, f.payers, f.revenue, f.payRate, f.arpu, f.arppu];
  return upsertReport(mysql, names, REPORT_TABLES.segmentPay, ['game_id', 'day', 'segment', 'payers', 'revenue', 'pay_rate', 'arpu', 'arppu'], [row], ['payers', 'revenue', 'pay_rate', 'arpu', 'arppu']);
}
