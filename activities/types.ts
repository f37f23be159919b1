/**
 * What travels between the run workflow and its activities: plain JSON,
 * so workflows can import these types without importing any I/O.
 */
import type { RunFilters } from '../core/job';
import type { Period } from '../core/period';

/** One run of one task for one period. */
export interface RunInput {
  readonly job: string;
  readonly task: string;
  readonly period: Period;
  /** The installation's prefix; the workflow derives task-queue names from it. */
  readonly prefix: string;
  /** A rerun's filters (`-g`, `-s`, `-c`). */
  readonly filters?: RunFilters;
  /** Whether the run alerts on its own incidents; a rerun sends one alert for all its periods instead. @defaultValue true */
  readonly alerts?: boolean;
}

/** One item of a run, as `mapTask` returned it, with where it must run. */
export interface PlannedItem {
  readonly index: number;
  /** For people: `game 12`, `item 3`. */
  readonly label: string;
  readonly game?: number;
  /** Set when the item is pinned to a slave. */
  readonly slave?: string;
  /** The user's item, passed to `execute` unchanged. */
  readonly item: unknown;
}

/** What a run must know before it maps its items: its dependency and its time limit. */
export interface RunSettings {
  /** The seed's `waiteForTask`: this task's run of the same period must have succeeded first. */
  readonly dependency?: { readonly job: string; readonly task: string; readonly giveUpSeconds: number; readonly onGiveUp: 'run' | 'fail' };
  /** The whole run's time limit (the seed's `executeTimeout`); none for once-tasks unless declared. */
  readonly timeoutSeconds?: number;
}

/** Where a dependency's run for the period stands. */
export type DependencyState = 'succeeded' | 'failed' | 'pending';

/** How a run executes its items: read from the task's definition when the run starts. */
export interface RunPlan {
  readonly items: readonly PlannedItem[];
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly itemTimeoutSeconds: number;
  /** How long an item pinned to a slave waits for that slave before it is reported unavailable. */
  readonly slaveWaitSeconds: number;
  /** Where a pinned item goes when its slave does not poll in time. */
  readonly slaveFallback: 'fail' | 'shared';
  readonly hasAfterExecute: boolean;
}

/** One item's outcome. */
export type ItemOutcome =
  | { readonly index: number; readonly label: string; readonly game?: number; readonly slave?: string; readonly ok: true; readonly result: unknown }
  | { readonly index: number; readonly label: string; readonly game?: number; readonly slave?: string; readonly ok: false; readonly error: string };

/** What a run returns, and what `gflow top` shows. */
export interface RunSummary {
  readonly job: string;
  readonly task: string;
  readonly period: string;
  readonly items: number;
  readonly ok: number;
  /** Every game the run's items covered, ok or not. */
  readonly games: readonly number[];
  readonly failed: ReadonlyArray<{ readonly label: string; readonly game?: number; readonly error: string }>;
  readonly afterExecute?: { readonly ok: boolean; readonly error?: string };
  /** Set when the run hit its time limit: the items still pending then. */
  readonly timedOut?: { readonly afterSeconds: number; readonly pending: readonly string[] };
  /** Set when the run waited for its dependency and gave up. */
  readonly gaveUpWaitingFor?: string;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** Live progress, answered by the run's `progress` query. */
export interface RunProgress {
  readonly total: number;
  readonly done: number;
  readonly failed: number;
}

/** One period of one task in a rerun. */
export interface RerunStep {
  readonly rerunId: string;
  readonly job: string;
  readonly task: string;
  readonly period: Period;
  /** `-g`: only these games' rows; all games' rows when absent. */
  readonly games?: readonly number[];
}

/** What a rerun did for one period. */
export interface PeriodResult {
  readonly task: string;
  readonly period: Period;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly checkErrors: number;
  readonly checkWarnings: number;
  readonly gamesFailed: readonly string[];
  /** Set when a step failed for the whole period (not one game). */
  readonly error?: string;
}
