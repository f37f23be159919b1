/**
 * A task's games × periods matrix for `gflow status`, `gflow retry` and the
 * console: the periods asked for (or the latest ones), the games of the
 * registry and of the ledger, and which closed periods were due since the
 * task's schedule was created (so a period no run covered shows missing).
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { usageError } from '../core/errors';
import type { AnyTask } from '../core/job';
import { foldMatrix, type Cell } from '../core/matrix';
import type { Names } from '../core/names';
import { nextPeriod, periodContaining, previousPeriod, type Period } from '../core/period';
import { parseRange } from '../core/range';
import type { PeriodUnit } from '../core/schedule';
import type { Pool } from '../infra/mysql';
import { listEnabledGames } from '../store/games/registry';
import { matrixRows } from '../store/ledger/cells';

/** Periods shown when no range is given, per unit. */
export const DEFAULT_PERIODS: Readonly<Record<PeriodUnit, number>> = { month: 12, week: 12, day: 14, hour: 24, minute: 60 };

export interface TaskMatrix {
  readonly job: string;
  readonly task: string;
  readonly unit: PeriodUnit;
  /** Oldest first. */
  readonly periods: readonly string[];
  readonly games: readonly number[];
  /** When the task's schedule was created; absent when it never was (nothing is missing then). */
  readonly startedAt?: string;
  readonly cells: readonly Cell[];
}

export interface MatrixRequest {
  readonly job: string;
  readonly task: AnyTask;
  /** `-d`: a period or `first,last`; the latest periods when absent. */
  readonly range?: string;
  readonly games?: readonly number[];
  readonly zone: string;
  readonly maxPeriods: number;
  readonly now?: number;
}

/** The periods of a request: `-d`, or the latest closed ones. */
export function matrixPeriods(unit: PeriodUnit, range: string | undefined, zone: string, maxPeriods: number, now: number): Period[] {
  if (range !== undefined) {
    const parsed = parseRange(range, unit, zone, { maxPeriods });
    const out: Period[] = [];
    for (let p = parsed.first; p.start <= parsed.last.start; p = nextPeriod(p)) out.push(p);
    return out;
  }
  const out: Period[] = [];
  let p = previousPeriod(periodContaining(unit, now, zone));
  for (let i = 0; i < DEFAULT_PERIODS[unit]; i++, p = previousPeriod(p)) out.unshift(p);
  return out;
}

/** When the task's schedule was created (its first period due is the one that ended after that). */
export async function scheduleCreated(client: Client, names: Names, job: string, task: string): Promise<number | undefined> {
  try {
    const described = await client.schedule.getHandle(names.scheduleId(job, task)).describe();
    return described.info.createdAt.getTime();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

export async function taskMatrix(mysql: Pool, names: Names, request: MatrixRequest, createdAt: number | undefined): Promise<TaskMatrix> {
  const { task } = request;
  if (task.schedule.kind !== 'calendar') {
    throw usageError(`task ${request.job}.${task.name} ${task.schedule.kind === 'once' ? 'runs once' : 'runs at an interval'}: only calendar tasks have periods to show`);
  }
  const unit = task.schedule.unit;
  const now = request.now ?? Date.now();
  const periods = matrixPeriods(unit, request.range, request.zone, request.maxPeriods, now);
  const keys = periods.map((p) => p.key);
  const due = new Set(createdAt === undefined ? [] : periods.filter((p) => p.end <= now && p.end > createdAt).map((p) => p.key));
  const rows = await matrixRows(mysql, names, { job: request.job, task: task.name, from: keys[0]!, to: keys.at(-1)!, ...(request.games && { games: request.games }) });
  const registered = (await listEnabledGames(mysql, names)).map((g) => g.id);
  const seen = rows.items.map((i) => i.game);
  const games = request.games ? [...request.games] : [...new Set([...registered, ...seen])].sort((a, b) => a - b);
  return {
    job: request.job,
    task: task.name,
    unit,
    periods: keys,
    games,
    ...(createdAt !== undefined && { startedAt: new Date(createdAt).toISOString() }),
    cells: foldMatrix({ games, periods: keys, due, runs: rows.runs, items: rows.items }),
  };
}
