/**
 * The games × periods matrix of a task, folded from the ledger's rows: what
 * `gflow status`, `gflow retry` and the console show. Pure code.
 *
 * A cell is the state of one game's data for one period, decided by the
 * latest run that covered it: a later rerun or retry replaces what an
 * earlier run left. A run still going marks its period's cells running; a
 * closed period of a started task that no run covered is missing.
 */
import type { Outcome } from './outcome';

/** A cell's state, worst first in the order a legend lists them; `none`: nothing was due (before the task was started, or not yet closed). */
export const CELL_STATES = ['failed', 'partial', 'missing', 'running', 'skipped', 'ok', 'none'] as const;
export type CellState = (typeof CELL_STATES)[number];

/** One game's item in one run, as the ledger holds it. */
export interface ItemRow {
  readonly runId: number;
  readonly workflowId: string;
  readonly periodKey: string;
  readonly game: number;
  readonly outcome: 'ok' | 'failed' | 'pending' | 'cancelled';
  readonly error?: string;
  readonly finishedAt?: string;
  /** Failed error-level checks on this game's rows in that run. */
  readonly checkErrors: number;
}

/** A run, as far as the matrix needs it. */
export interface RunRow {
  readonly runId: number;
  readonly workflowId: string;
  readonly periodKey: string;
  readonly outcome: Outcome;
  readonly startedAt: string;
  readonly error?: string;
}

export interface Cell {
  readonly game: number;
  readonly period: string;
  readonly state: CellState;
  /** The run that decided the state (absent for missing cells). */
  readonly workflowId?: string;
  readonly runOutcome?: Outcome;
  readonly error?: string;
  readonly at?: string;
}

export interface MatrixInput {
  readonly games: readonly number[];
  /** The periods shown, oldest first. */
  readonly periods: readonly string[];
  /** Periods that count as missing when no run covered them (closed, since the task was started). */
  readonly due: ReadonlySet<string>;
  readonly runs: readonly RunRow[];
  readonly items: readonly ItemRow[];
}

/** Fold the ledger's runs and items into one cell per game and period. */
export function foldMatrix(input: MatrixInput): Cell[] {
  const latestItem = new Map<string, ItemRow>();
  for (const item of input.items) {
    const key = `${item.game}|${item.periodKey}`;
    const seen = latestItem.get(key);
    if (!seen || item.runId > seen.runId) latestItem.set(key, item);
  }
  const latestRun = new Map<string, RunRow>();
  for (const run of input.runs) {
    const seen = latestRun.get(run.periodKey);
    // A skipped firing says only that another run had the period: any real run of it says more.
    const replaces = !seen || (run.outcome === 'skipped' ? seen.outcome === 'skipped' && run.runId > seen.runId : seen.outcome === 'skipped' || run.runId > seen.runId);
    if (replaces) latestRun.set(run.periodKey, run);
  }
  const cells: Cell[] = [];
  for (const game of input.games) {
    for (const period of input.periods) {
      const item = latestItem.get(`${game}|${period}`);
      const run = latestRun.get(period);
      cells.push(cellOf(game, period, item, run, input.due.has(period)));
    }
  }
  return cells;
}

function cellOf(game: number, period: string, item: ItemRow | undefined, run: RunRow | undefined, due: boolean): Cell {
  // A run newer than the game's last item decides, when it has no item of its own for the game.
  if (run && (!item || run.runId > item.runId)) {
    const base = { game, period, workflowId: run.workflowId, runOutcome: run.outcome, at: run.startedAt };
    if (run.outcome === 'running') return { ...base, state: 'running' };
    if (run.outcome === 'skipped') return item ? fromItem(game, period, item) : { ...base, state: 'skipped' };
    if (run.outcome === 'failed') return { ...base, state: 'failed', error: run.error ?? 'the run failed before this game ran' };
    if (run.outcome === 'cancelled' || run.outcome === 'timed_out') return { ...base, state: 'failed', error: `run ${run.outcome.replace('_', ' ')}` };
    // An ok or partial run that had no item for this game: the game was not in it (filtered, or not yet registered).
    if (item) return fromItem(game, period, item);
  }
  if (item) return fromItem(game, period, item);
  return { game, period, state: due ? 'missing' : 'none' };
}

function fromItem(game: number, period: string, item: ItemRow): Cell {
  const base = { game, period, workflowId: item.workflowId, ...(item.finishedAt && { at: item.finishedAt }) };
  if (item.outcome === 'ok') return item.checkErrors > 0 ? { ...base, state: 'partial', error: `${item.checkErrors} failed checks` } : { ...base, state: 'ok' };
  if (item.outcome === 'failed') return { ...base, state: 'failed', error: item.error ?? 'failed' };
  return { ...base, state: 'failed', error: item.outcome === 'pending' ? 'pending when the run was cut off' : 'cancelled' };
}

/** The cells that need attention: `failed` (and partial), or `missing`. */
export function cellsToRetry(cells: readonly Cell[], which: 'failed' | 'missing'): Cell[] {
  return cells.filter((c) => (which === 'failed' ? c.state === 'failed' || c.state === 'partial' : c.state === 'missing'));
}

/** Group cells into periods, each with its games, oldest first: what a retry recomputes. */
export function periodsWithGames(cells: readonly Cell[]): Array<{ period: string; games: number[] }> {
  const byPeriod = new Map<string, Set<number>>();
  for (const c of cells) byPeriod.set(c.period, (byPeriod.get(c.period) ?? new Set()).add(c.game));
  return [...byPeriod.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([period, games]) => ({ period, games: [...games].sort((a, b) => a - b) }));
}
