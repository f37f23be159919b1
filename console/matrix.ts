/**
 * A task's games × periods matrix (client/matrix.ts) in the compact form the
 * task page reads: one character per cell, a run index per cell, and the
 * errors of the cells that have one, each text once. 500 games × 31 days is
 * ~100 KB of JSON instead of ~3 MB of cell objects.
 */
import type { TaskMatrix } from '../client/matrix';
import type { CellState } from '../core/matrix';

/** One character per state; the page maps them back. */
export const STATE_CODES: Readonly<Record<CellState, string>> = { ok: 'o', failed: 'f', partial: 'p', missing: 'm', running: 'r', skipped: 's', none: '-' };

export interface CompactMatrix {
  readonly job: string;
  readonly task: string;
  readonly unit: string;
  readonly periods: readonly string[];
  readonly startedAt?: string;
  readonly games: ReadonlyArray<{ readonly id: number; readonly name: string }>;
  /** Per game (in `games` order), one state code per period. */
  readonly states: readonly string[];
  /** The workflow ids of the runs that decided cells. */
  readonly runs: readonly string[];
  /** Per cell (game-major), the index in `runs`, or -1. */
  readonly cellRuns: readonly number[];
  /** Distinct error texts. */
  readonly errors: readonly string[];
  /** `[cell index, error index]` for each cell with an error. */
  readonly cellErrors: ReadonlyArray<readonly [number, number]>;
  /** Cells per state. */
  readonly counts: Readonly<Partial<Record<CellState, number>>>;
}

export function compactMatrix(m: TaskMatrix, names: ReadonlyMap<number, string>): CompactMatrix {
  const periodIndex = new Map(m.periods.map((p, i) => [p, i]));
  const gameIndex = new Map(m.games.map((g, i) => [g, i]));
  const width = m.periods.length;
  const codes: string[][] = m.games.map(() => new Array<string>(width).fill(STATE_CODES.none));
  const cellRuns = new Array<number>(m.games.length * width).fill(-1);
  const runs: string[] = [];
  const runIndex = new Map<string, number>();
  const errors: string[] = [];
  const errorIndex = new Map<string, number>();
  const cellErrors: Array<[number, number]> = [];
  const counts: Partial<Record<CellState, number>> = {};
  for (const cell of m.cells) {
    const g = gameIndex.get(cell.game);
    const p = periodIndex.get(cell.period);
    if (g === undefined || p === undefined) continue;
    codes[g]![p] = STATE_CODES[cell.state];
    counts[cell.state] = (counts[cell.state] ?? 0) + 1;
    const at = g * width + p;
    if (cell.workflowId !== undefined) {
      let r = runIndex.get(cell.workflowId);
      if (r === undefined) {
        r = runs.push(cell.workflowId) - 1;
        runIndex.set(cell.workflowId, r);
      }
      cellRuns[at] = r;
    }
    if (cell.error !== undefined) {
      let e = errorIndex.get(cell.error);
      if (e === undefined) {
        e = errors.push(cell.error) - 1;
        errorIndex.set(cell.error, e);
      }
      cellErrors.push([at, e]);
    }
  }
  return {
    job: m.job,
    task: m.task,
    unit: m.unit,
    periods: m.periods,
    ...(m.startedAt !== undefined && { startedAt: m.startedAt }),
    games: m.games.map((id) => ({ id, name: names.get(id) ?? `game ${id}` })),
    states: codes.map((row) => row.join('')),
    runs,
    cellRuns,
    errors,
    cellErrors,
    counts,
  };
}
