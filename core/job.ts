/**
 * The job API: what a user writes in a file under `jobs/`.
 *
 * The original gflow's vocabulary, typed: a job registers its tasks (`registerTask`);
 * a task says when it runs (`breakExecute` once, `sleepExecute` every N
 * seconds, or `atExecute` at a calendar point), what its items are
 * (`mapTask`, by default one per game: `assignTask()`), what to do with one
 * item (`execute`) and, optionally, with all results (`afterExecute`).
 *
 * @example
 * ```ts
 * import { defineJob, defineTask } from 'gflow';
 *
 * const oneTask = defineTask({
 *   name: 'oneTask',
 *   atExecute: 'd2H30', // daily at 02:30, computing yesterday
 *   mapTask: (ctx) => ctx.assignTask(), // one item per enabled game
 *   async execute(myTask, ctx) {
 *     const logins = await ctx.redis.scard(`logins:${myTask.game}:${ctx.period.key}`);
 *     return { game: myTask.game, logins };
 *   },
 *   afterExecute(resultSets, ctx) {
 *     ctx.log.info(`${resultSets.filter((r) => r.ok).length} games done`);
 *   },
 * });
 *
 * export default defineJob({ name: 'demo', registerTask: [oneTask] });
 * ```
 */
import { usageError } from './errors';
import type { Period } from './period';
import type { ReportCheck, ReportTable } from './report';
import { scheduleOf, type TaskSchedule } from './schedule';
import { precomputeTaskName, type Analysis, type AnalysisAnswer, type RawParams } from './analysis';
import type { CodeContext, GameItem } from './context';

export type { CodeContext, GameContext, GameItem, TaskLogger } from './context';
import { isGameId } from './game';

/** Job names: `job` or `layer.job` (the original gflow's layers: collector, reporter, ...). */
export const JOB_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,47}(\.[A-Za-z][A-Za-z0-9_-]{0,47})?$/;
/** Task names: one identifier, as the original gflow's class names. */
export const TASK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,47}$/;
/** A dependency: `job.task` or `layer.job.task`. */
export const DEPENDENCY = /^[A-Za-z][A-Za-z0-9_-]{0,47}(\.[A-Za-z][A-Za-z0-9_-]{0,47}){1,2}$/;

/** Split `waitForTask` into job and task: the last part is the task. */
export function parseDependency(spec: string): { job: string; task: string } {
  const dot = spec.lastIndexOf('.');
  return { job: spec.slice(0, dot), task: spec.slice(dot + 1) };
}

/** Slave names go into task-queue names. */
export const SLAVE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * An item may name the slave that must run it (the original gflow's `assign_node`);
 * the rest go to the queue every slave polls.
 */
export interface Pinnable {
  readonly slave?: string;
}

/** A rerun's filters (`-g`, `-s`, `-c`); scheduled runs have none. */
export interface RunFilters {
  /** Only these games (`-g`): `assignTask()` and game items outside them are dropped. */
  readonly games?: readonly number[];
  /** Server-id range (`-s from,to`), for tasks whose items or queries go by server. */
  readonly servers?: { readonly from: number; readonly to: number };
  /** Channel (`-c`), for tasks that compute per channel. */
  readonly channel?: string;
}

/**
 * A run's `-s` / `-c` as an operator types them (`-s 3,5 -c ads`), or
 * `undefined` when the run computes whole games (`-g` alone narrows which
 * games, not what is computed). A run with a segment writes that segment's
 * rows, not the game's, so it never decides a game × period cell.
 */
export function segmentOfRun(filters: RunFilters | undefined): string | undefined {
  const parts: string[] = [];
  const s = filters?.servers;
  if (s) parts.push(`-s ${s.from === s.to ? s.from : `${s.from},${s.to}`}`);
  if (filters?.channel !== undefined) parts.push(`-c ${filters.channel}`);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** What every hook of a task receives. */
export interface TaskContext extends CodeContext {
  readonly task: string;
  /** The period this run computes (docs/architecture.md "Periods"). */
  readonly period: Period;
  /** The original gflow's `curTime()`: the start of the period, in epoch seconds. */
  curTime(): number;
  /** The rerun's filters; `{}` for scheduled runs. Games are applied by gflow; servers and channel are the task's to honour. */
  readonly filters: RunFilters;
  /**
   * An analysis's answer (`'job.analysis'`), from the cache, or computed
   * here and cached; `refresh` computes it even when cached (pre-analysis).
   * @example
   * ```ts
   * const { result } = await ctx.ask('report.retention', { game: 7, from: '20261101', to: '20261115' });
   * ```
   */
  ask(analysis: string, params: RawParams, options?: { readonly refresh?: boolean }): Promise<AnalysisAnswer>;
}

/** What `mapTask` receives: the context plus the default mapping. */
export interface MapContext extends TaskContext {
  /** One item per enabled game of the games registry. */
  assignTask(): Promise<GameItem[]>;
}

/** One item's outcome, as `afterExecute` sees it. */
export type ResultSet<I, R> =
  | { readonly item: I; readonly ok: true; readonly result: R }
  | { readonly item: I; readonly ok: false; readonly error: string };

type Awaitable<T> = T | Promise<T>;

/**
 * A task: a schedule, a mapping to items, and the work for one item.
 * Exactly one of `atExecute`, `sleepExecute`, `breakExecute` is set.
 * Items and results travel through Temporal: keep them JSON.
 */
export interface TaskDefinition<I extends object = GameItem, R = unknown> {
  /** The task's name, unique in its job (the original gflow's task class name, e.g. `oneTask`). */
  readonly name: string;
  /**
   * Run at a calendar point, in the original gflow's grammar: `w1d2` Mondays 02:00,
   * `d2H30` daily 02:30, `m1d3` the 1st at 03:00, `H5` hourly at :05,
   * `M30` every minute at :30. The run computes the period that just ended.
   */
  readonly atExecute?: string;
  /** Run every N seconds; each run computes "now". */
  readonly sleepExecute?: number;
  /** Run once, when started. */
  readonly breakExecute?: boolean;
  /**
   * The run's items. Return `ctx.assignTask()` for one per game, your own
   * list, or a slave name to run one item on that slave only.
   * @defaultValue `ctx.assignTask()`
   */
  readonly mapTask?: (ctx: MapContext) => Awaitable<readonly I[] | string>;
  /** The work for one item (the original gflow's `execute(myTask)`). A throw fails this item only. */
  readonly execute: (myTask: I, ctx: TaskContext) => Awaitable<R>;
  /** Runs once every item has settled, with all their results (the original gflow's `resultSets`). */
  readonly afterExecute?: (resultSets: ReadonlyArray<ResultSet<I, R>>, ctx: TaskContext) => Awaitable<unknown>;
  /**
   * Items of one run executing at once.
   * @defaultValue the configured `concurrency` (10)
   */
  readonly concurrency?: number;
  /**
   * Attempts per item before it counts as failed (transient errors are retried with backoff).
   * @defaultValue 3
   */
  readonly maxAttempts?: number;
  /**
   * The most items one activity runs, one after the other, when a run has
   * many: a round trip through Temporal costs more than a cheap item, so a
   * year of reruns over hundreds of games goes by batches. Each item keeps
   * its own outcome, attempts and duration in the ledger; a failing item
   * fails alone and is retried alone. A run batches only when it has at
   * least twice `concurrency` unpinned items (batches are then cut so every
   * lane has work); pinned items always run one per activity. `1` turns
   * batching off.
   * @defaultValue 50
   */
  readonly batchSize?: number;
  /**
   * Longest time one item's `execute` may take, in seconds.
   * @defaultValue 600
   */
  readonly itemTimeoutSeconds?: number;
  /**
   * Whether `gflow restart -d` may rerun past periods of this task.
   * @defaultValue true
   */
  readonly enableReExecute?: boolean;
  /**
   * The report tables this task writes (in the `<prefix>_report` schema):
   * reruns back these rows up, diff them and can restore them.
   */
  readonly reports?: readonly ReportTable[];
  /** Consistency checks run after every run, scheduled or rerun; results are kept in the ledger. */
  readonly checks?: readonly ReportCheck[];
  /**
   * Wait, before running, until some run of this task for the same period
   * (scheduled, rerun or retry) has succeeded, as the ledger records it:
   * `'job.task'` or `'layer.job.task'`. The wait is durable: restarts lose nothing.
   * @example `waitForTask: 'report.active'`
   */
  readonly waitForTask?: string;
  /** The original gflow's spelling of {@link waitForTask}; accepted as an alias. */
  readonly waiteForTask?: string;
  /**
   * How long to wait for `waitForTask` before giving up (and alerting).
   * @defaultValue 1800 (30 minutes)
   */
  readonly waitGiveUpSeconds?: number;
  /**
   * On giving up: run anyway, or fail the run.
   * @defaultValue `'run'`
   */
  readonly onGiveUp?: 'run' | 'fail';
  /**
   * Longest time a whole run may take, in seconds; items still pending then
   * are reported and the run ends (the original gflow's `executeTimeout`).
   * @defaultValue half the time to the next scheduled run (half the period
   * or interval); none for once-tasks
   */
  readonly executeTimeout?: number;
  /**
   * An item pinned to a slave that does not poll within `slaveWaitSeconds`:
   * report it as "slave X unavailable", or run it on any slave.
   * @defaultValue `'fail'`
   */
  readonly slaveFallback?: 'fail' | 'shared';
  /**
   * How a rerun walks the periods: in parallel (bounded), or one after the
   * other when a period reads what the previous one wrote.
   * @defaultValue `'parallel'`
   */
  readonly rerunOrder?: 'parallel' | 'sequential';
  /**
   * Whether the task computes periods that have not ended yet (e.g. today's
   * figures so far): only then may a rerun name an open period.
   * @defaultValue false
   */
  readonly computesOpenPeriods?: boolean;
  /**
   * The rerun filters the task honours besides `-g` (which gflow applies):
   * `'servers'` (`-s from,to`) and `'channel'` (`-c`), read from
   * `ctx.filters`. A rerun passing one the task does not list is refused
   * before anything starts (nothing backed up, exit 2), naming the task.
   * `[]` honours none.
   * @defaultValue not declared: every filter is passed on, and the task
   * refuses at run time what it cannot honour (as before this field)
   * @example `filters: ['channel']`
   */
  readonly filters?: readonly ('servers' | 'channel')[];
  /**
   * In a rerun, a period whose error-level checks fail: keep the new rows
   * and report (the default), or restore the period's backup at once.
   * `gflow restart -d … --on-check-error rollback` asks for it per rerun.
   * @defaultValue `'keep'`
   */
  readonly onCheckError?: 'keep' | 'rollback';
}

/** A task as loaded: its definition plus its parsed schedule. */
export interface Task<I extends object = GameItem, R = unknown> extends TaskDefinition<I, R> {
  readonly schedule: TaskSchedule;
}

/** A task of any item and result type, as the runtime handles them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any, any>;

/**
 * One versioned change to the tables a job owns in the `<prefix>_report`
 * schema. `gflow db migrate` (and `gflow setup`) apply a job's pending
 * migrations after gflow's own, in version order, under the same lock, and
 * record each in `<prefix>_meta.job_migrations` once all its statements ran.
 *
 * Name every table as `{report}.table`: gflow substitutes the installation's
 * report schema, escaped (the only placeholder there is). MySQL commits DDL
 * at once, so a migration interrupted half way runs again from its first
 * statement: write each to be re-runnable (`CREATE TABLE IF NOT EXISTS`,
 * MariaDB's `ADD COLUMN IF NOT EXISTS`). Never edit or renumber a version
 * once shipped; add a new one.
 *
 * @example
 * ```ts
 * export default defineJob({
 *   name: 'levels',
 *   registerTask: [daily],
 *   migrations: [
 *     { version: 1, description: 'report_levels', up: `CREATE TABLE IF NOT EXISTS {report}.report_levels (
 *         game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, level SMALLINT UNSIGNED NOT NULL, users INT UNSIGNED NOT NULL,
 *         PRIMARY KEY (game_id, day, level))` },
 *     { version: 2, up: 'ALTER TABLE {report}.report_levels ADD COLUMN IF NOT EXISTS payers INT UNSIGNED NULL' },
 *   ],
 * });
 * ```
 */
export interface JobMigration {
  /** The job's schema version this migration brings it to: 1, 2, 3, … increasing in the list. */
  readonly version: number;
  /** Shown by `gflow db migrate`. @defaultValue `'<job> v<version>'` */
  readonly description?: string;
  /** One SQL statement, or several run in order; each names its tables as `{report}.table`. */
  readonly up: string | readonly string[];
}

export interface JobDefinition {
  /** `job` or `layer.job`. */
  readonly name: string;
  readonly description?: string;
  /** The job's tasks, in order (the original gflow's `registerTask`). */
  readonly registerTask: readonly AnyTask[];
  /**
   * The DDL of the report tables the job's tasks write, versioned per job
   * (see {@link JobMigration}); applied by `gflow db migrate`.
   * @defaultValue none
   */
  readonly migrations?: readonly JobMigration[];
  /**
   * Questions front ends ask on demand (`gflow ask <job>.<analysis>`, HTTP,
   * the Redis request stream), made with `defineAnalysis()`; one with
   * `precompute` adds the task `<name>_precompute` to the job.
   * @defaultValue none
   */
  readonly analyses?: readonly Analysis[];
}

export interface Job extends JobDefinition {
  /** The task named `name`, or `undefined`. */
  task(name: string): AnyTask | undefined;
  /** The analysis named `name`, or `undefined`. */
  analysis(name: string): Analysis | undefined;
}

/**
 * Define a task; its schedule is parsed here, so a bad `atExecute` fails
 * when the job file loads, naming the task.
 */
export function defineTask<I extends object = GameItem, R = unknown>(definition: TaskDefinition<I, R>): Task<I, R> {
  if (typeof definition.name !== 'string' || !TASK_NAME.test(definition.name)) {
    throw usageError(`task name ${JSON.stringify(definition.name)} is not valid: use letters, digits, _ or -, starting with a letter`);
  }
  if (typeof definition.execute !== 'function') {
    throw usageError(`task ${definition.name}: execute(myTask, ctx) is missing`);
  }
  let schedule: TaskSchedule;
  try {
    schedule = scheduleOf(definition);
  } catch (err) {
    throw usageError(`task ${definition.name}: ${(err as Error).message}`);
  }
  for (const table of definition.reports ?? []) {
    for (const name of [table.table, table.gameColumn ?? 'game_id', table.periodColumn, ...(table.keyColumns ?? [])]) {
      checkSqlName(definition.name, name);
    }
  }
  for (const check of definition.checks ?? []) {
    if (!(definition.reports ?? []).some((t) => t.table === check.table)) {
      throw usageError(`task ${definition.name}: check on table ${JSON.stringify(check.table)}, which is not among its reports`);
    }
  }
  if (definition.waitForTask !== undefined && definition.waiteForTask !== undefined && definition.waitForTask !== definition.waiteForTask) {
    throw usageError(`task ${definition.name}: waitForTask and its alias waiteForTask name different tasks; set one`);
  }
  if (definition.onCheckError !== undefined && definition.onCheckError !== 'keep' && definition.onCheckError !== 'rollback') {
    throw usageError(`task ${definition.name}: onCheckError ${JSON.stringify(definition.onCheckError)} must be 'keep' or 'rollback'`);
  }
  const waitForTask = definition.waitForTask ?? definition.waiteForTask;
  if (waitForTask !== undefined && (typeof waitForTask !== 'string' || !DEPENDENCY.test(waitForTask))) {
    throw usageError(`task ${definition.name}: waitForTask ${JSON.stringify(waitForTask)} must name a task as "job.task" or "layer.job.task"`);
  }
  checkPositiveInt(definition.name, 'waitGiveUpSeconds', definition.waitGiveUpSeconds);
  checkPositiveInt(definition.name, 'executeTimeout', definition.executeTimeout);
  checkPositiveInt(definition.name, 'concurrency', definition.concurrency);
  checkPositiveInt(definition.name, 'maxAttempts', definition.maxAttempts);
  checkPositiveInt(definition.name, 'batchSize', definition.batchSize);
  checkPositiveInt(definition.name, 'itemTimeoutSeconds', definition.itemTimeoutSeconds);
  return Object.freeze({ ...definition, ...(waitForTask !== undefined && { waitForTask, waiteForTask: waitForTask }), schedule });
}

/** Define a job from its tasks. */
export function defineJob(definition: JobDefinition): Job {
  if (typeof definition.name !== 'string' || !JOB_NAME.test(definition.name)) {
    throw usageError(`job name ${JSON.stringify(definition.name)} is not valid: use "job" or "layer.job" (letters, digits, _ or -)`);
  }
  const analyses = definition.analyses ?? [];
  if (!Array.isArray(analyses)) throw usageError(`job ${definition.name}: analyses must be a list of defineAnalysis() results`);
  if (!Array.isArray(definition.registerTask) || (definition.registerTask.length === 0 && analyses.length === 0)) {
    throw usageError(`job ${definition.name}: registerTask must list at least one task made with defineTask()`);
  }
  const byAnalysis = new Map<string, Analysis>();
  for (const analysis of analyses) {
    if (!analysis || typeof analysis !== 'object' || typeof analysis.compute !== 'function') {
      throw usageError(`job ${definition.name}: analyses holds something that is not a defineAnalysis() result`);
    }
    if (byAnalysis.has(analysis.name)) throw usageError(`job ${definition.name}: analysis ${analysis.name} is declared twice`);
    byAnalysis.set(analysis.name, analysis);
  }
  const tasks = [...definition.registerTask, ...analyses.flatMap((a) => (a.precompute ? [precomputeTask(definition.name, a)] : []))];
  const byName = new Map<string, AnyTask>();
  for (const task of tasks) {
    if (!task || typeof task !== 'object' || !('schedule' in task)) {
      throw usageError(`job ${definition.name}: registerTask holds something that is not a defineTask() result`);
    }
    if (byName.has(task.name)) throw usageError(`job ${definition.name}: task ${task.name} is registered twice`);
    byName.set(task.name, task);
  }
  const migrations = checkMigrations(definition.name, definition.migrations);
  return Object.freeze({
    ...definition,
    registerTask: Object.freeze(tasks),
    ...(migrations && { migrations }),
    task: (name: string) => byName.get(name),
    analysis: (name: string) => byAnalysis.get(name),
  });
}

/**
 * Pre-analysis as a task like any other: scheduled, started and stopped with
 * the job, recorded in the ledger; one item per parameter set (a set naming
 * a game is that game's item, so one game's failure stays its own).
 */
function precomputeTask(job: string, analysis: Analysis): AnyTask {
  const precompute = analysis.precompute!;
  return defineTask<{ readonly game?: number; readonly params: RawParams }, unknown>({
    name: precomputeTaskName(analysis.name),
    atExecute: precompute.atExecute,
    // It fills a cache, not report rows: a rerun of past days would back up and diff nothing.
    enableReExecute: false,
    async mapTask(ctx) {
      const sets = await precompute.params(ctx);
      return sets.map((params) => ({ ...(isGameId(params.game) && { game: params.game }), params }));
    },
    async execute(item, ctx) {
      const answer = await ctx.ask(`${job}.${analysis.name}`, item.params, { refresh: true });
      return { id: answer.id, provisional: answer.provisional };
    },
  });
}

/** The placeholder a migration names the report schema by. */
export const REPORT_SCHEMA_PLACEHOLDER = '{report}';

/**
 * Check a job's migrations when its file loads, so a bad one fails
 * `gflow jobs` as well as `gflow db migrate`; returns them frozen, each
 * statement as a list with trailing `;` removed (the pool runs one statement at a time).
 */
function checkMigrations(job: string, migrations: readonly JobMigration[] | undefined): readonly JobMigration[] | undefined {
  if (migrations === undefined) return undefined;
  if (!Array.isArray(migrations)) throw usageError(`job ${job}: migrations must be a list of { version, up }`);
  let previous = 0;
  return Object.freeze(
    migrations.map((m: JobMigration) => {
      const at = `job ${job}: migration ${JSON.stringify(m?.version)}`;
      if (!m || typeof m !== 'object' || !Number.isInteger(m.version) || m.version < 1 || m.version > 1_000_000) {
        throw usageError(`job ${job}: a migration's version must be a whole number from 1, got ${JSON.stringify(m?.version)}`);
      }
      if (m.version <= previous) throw usageError(`${at} is out of order or repeated: versions must increase (1, 2, 3, …)`);
      previous = m.version;
      if (m.description !== undefined && (typeof m.description !== 'string' || m.description.length > 255)) {
        throw usageError(`${at}: description must be text of at most 255 chars`);
      }
      const list = typeof m.up === 'string' ? [m.up] : m.up;
      if (!Array.isArray(list) || list.length === 0) throw usageError(`${at}: up must be an SQL statement or a non-empty list of them`);
      const up = list.map((statement: unknown) => {
        if (typeof statement !== 'string' || statement.trim() === '') throw usageError(`${at}: every statement must be non-empty SQL text`);
        const text = statement.trim().replace(/;+$/, '').trimEnd();
        if (!text.includes(REPORT_SCHEMA_PLACEHOLDER)) {
          throw usageError(`${at}: name tables as ${REPORT_SCHEMA_PLACEHOLDER}.table (the report schema is the only one a job's migrations touch)`);
        }
        const other = /\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(text.replaceAll(REPORT_SCHEMA_PLACEHOLDER, ''));
        if (other) throw usageError(`${at}: unknown placeholder ${other[0]}; the only one is ${REPORT_SCHEMA_PLACEHOLDER}`);
        return text;
      });
      return Object.freeze({ version: m.version, description: m.description ?? `${job} v${m.version}`, up: Object.freeze(up) });
    }),
  );
}

/** Report table and column names go into SQL: only plain identifiers. */
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function checkSqlName(task: string, name: string): void {
  if (typeof name !== 'string' || !SQL_NAME.test(name)) {
    throw usageError(`task ${task}: report name ${JSON.stringify(name)} is not a plain SQL identifier (letters, digits, _; at most 64)`);
  }
}

function checkPositiveInt(task: string, field: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1) throw usageError(`task ${task}: ${field} must be a positive whole number, got ${String(value)}`);
}
