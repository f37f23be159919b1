/**
 * What travels between the run workflow and its activities: plain JSON,
 * so workflows can import these types without importing any I/O.
 */
import type { RunFilters } from '../core/job';
import type { FinalOutcome, Origin, StartedBy } from '../core/outcome';
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
  /** How the run was started, for the ledger. @defaultValue `'start'` */
  readonly origin?: Origin;
  /** Who started it (the CLI's user and host; a schedule's creator). */
  readonly startedBy?: StartedBy;
  /** The rerun (or retry) this run recomputes a period of. */
  readonly rerunId?: string;
  /**
   * The workflow already holding this task's period (a rerun holds it around
   * backup, recompute and diff); the run then does not claim it itself.
   */
  readonly periodHeldBy?: string;
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
  /** The task's `waitForTask`: this task's run of the same period must have succeeded first. */
  readonly dependency?: { readonly job: string; readonly task: string; readonly giveUpSeconds: number; readonly onGiveUp: 'run' | 'fail' };
  /** The whole run's time limit (the original gflow's `executeTimeout`); none for once-tasks unless declared. */
  readonly timeoutSeconds?: number;
}

/** Where a dependency's run for the period stands: some run of it succeeded, or not yet. */
export type DependencyState = 'succeeded' | 'pending';

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
  /**
   * The most items one `executeBatch` activity runs (the task's `batchSize`).
   * Absent in plans recorded before batches existed: such a run, replayed,
   * keeps one activity per item.
   */
  readonly batchSize?: number;
}

/** One item's outcome; `attempts` and `ranOn` (the worker) as far as they are known. */
export type ItemOutcome = {
  readonly index: number;
  readonly label: string;
  readonly game?: number;
  readonly slave?: string;
  readonly attempts?: number;
  readonly ranOn?: string;
  readonly durationMs?: number;
} & ({ readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string });

/** What `executeItem` returns: the task's result and where and how it ran, for the ledger. */
export interface ExecutedItem {
  readonly result: unknown;
  readonly attempt: number;
  readonly ranOn: string;
  readonly durationMs: number;
}

/**
 * One item's outcome inside `executeBatch`. A failure says whether retrying
 * could mend it: the workflow retries a retryable one alone, as its own
 * activity, with the attempts it has left.
 */
export type BatchItemOutcome = {
  readonly index: number;
  /** Attempts of the batch that started this item: 1, or more when a slave died while it ran. */
  readonly attempts: number;
  readonly ranOn: string;
  readonly durationMs: number;
} & ({ readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: string; readonly retryable: boolean });

/**
 * What `executeBatch` returns: an outcome per item it ran. An item missing
 * was not run (its slave was stopping) and goes back to the run.
 */
export interface BatchResult {
  readonly outcomes: readonly BatchItemOutcome[];
}

/**
 * What a batch records in its heartbeats: the items finished so far (a
 * retried attempt skips them), and how many attempts started each unfinished
 * item (a slave that died in the middle of it used one of its attempts).
 */
export interface BatchProgress {
  readonly batch: 1;
  readonly done: readonly BatchItemOutcome[];
  readonly tries: Readonly<Record<number, number>>;
  /** The item running at the last heartbeat, and what its own `ctx.heartbeat(details)` said. */
  readonly running?: { readonly label: string; readonly details?: unknown };
}

/** What a run returns, and what `gflow top` shows. */
export interface RunSummary {
  readonly outcome: FinalOutcome;
  /** The ledger's id of this run. */
  readonly ledgerId: number;
  /** A whole-run failure's cause. */
  readonly error?: string;
  readonly checkErrors: number;
  readonly checkWarnings: number;
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
  /** Report rows backed up before the recompute. */
  readonly backedUp: number;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly checkErrors: number;
  readonly checkWarnings: number;
  readonly gamesFailed: readonly string[];
  /** Set when the period's checks failed and its backup was put back (`onCheckError: 'rollback'`). */
  readonly rolledBack?: boolean;
  /** Every failure inside the period with its cause: failed or pending games, a dependency given up on, afterExecute. */
  readonly failures: ReadonlyArray<{ readonly label: string; readonly game?: number; readonly error: string }>;
  /** Set when a step failed for the whole period (not one game). */
  readonly error?: string;
}
