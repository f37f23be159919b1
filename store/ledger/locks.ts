/**
 * One writer per task and period, across hosts: a row in `ledger_locks`
 * names the workflow that writes a task's period (a scheduled run, or the
 * rerun recomputing it). A second writer waits; a holder whose workflow is no
 * longer running (terminated, its history gone) is replaced, so a lock can
 * never outlive its writer.
 */
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Names } from '../../core/names';
import { ledgerTables } from './schema';
import { sqlTime } from './runs';

/** A task's period. */
export interface PeriodKey {
  readonly job: string;
  readonly task: string;
  readonly periodKey: string;
}

/** Take the period for `holder` if it is free (or already ours). @returns the current holder. */
export async function claimPeriod(pool: Pool, names: Names, key: PeriodKey, holder: string, now: number): Promise<string> {
  const t = ledgerTables(names).locks;
  await pool.query(`INSERT IGNORE INTO ${t} (job, task, period_key, holder, acquired_at) VALUES (?, ?, ?, ?, ?)`, [key.job, key.task, key.periodKey, holder, sqlTime(now)]);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT holder FROM ${t} WHERE job = ? AND task = ? AND period_key = ?`, [key.job, key.task, key.periodKey]);
  // Released between the two statements: try again on the next poll.
  return rows[0] ? String(rows[0].holder) : '';
}

/** Replace a holder known to be gone; only if it still holds the period. @returns whether `holder` now holds it. */
export async function takeOverPeriod(pool: Pool, names: Names, key: PeriodKey, gone: string, holder: string, now: number): Promise<boolean> {
  const [res] = await pool.query<ResultSetHeader>(
    `UPDATE ${ledgerTables(names).locks} SET holder = ?, acquired_at = ? WHERE job = ? AND task = ? AND period_key = ? AND holder = ?`,
    [holder, sqlTime(now), key.job, key.task, key.periodKey, gone],
  );
  return res.affectedRows === 1;
}

/** Give the period back; a no-op when `holder` does not hold it (a retried release). */
export async function releasePeriod(pool: Pool, names: Names, key: PeriodKey, holder: string): Promise<void> {
  await pool.query(`DELETE FROM ${ledgerTables(names).locks} WHERE job = ? AND task = ? AND period_key = ? AND holder = ?`, [key.job, key.task, key.periodKey, holder]);
}
