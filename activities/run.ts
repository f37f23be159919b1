/**
 * The activities of a run: plan it (`mapTask`), execute one item or a batch
 * of items, and hand every result to `afterExecute`. They load the task from the slave's job
 * registry, so job code never enters the deterministic workflow sandbox.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { parseDependency, type AnyTask, type GameItem, type MapContext, type ResultSet, type TaskContext } from '../core/job';
import { scheduleSpacingSeconds, type TaskSchedule } from '../core/schedule';
import { describeValue, isGameId, MAX_GAME_ID } from '../store/identifiers';
import { gameResolver } from '../store/games/directory';
import { messageOf } from '../core/errors';
import { NON_RETRYABLE_ERRORS, USER_ERROR } from '../core/retry';
import { classify, lookupTask } from './failures';
import { withFields } from '../infra/logger';
import { whileBeating } from './heartbeat';
import type { AnalysisAnswer, RawParams } from '../core/analysis';
import type { AnalysisDependencies, Computing } from './analysis';
import type { BatchItemOutcome, BatchProgress, BatchResult, ExecutedItem, ItemOutcome, PlannedItem, RunInput, RunPlan, RunSettings } from './types';

const DEFAULT_GIVE_UP_SECONDS = 1800;

/** What a run's activities need: the slave's clients and jobs (as an analysis's), and more. */
export interface RunDependencies extends AnalysisDependencies {
  /** One item per enabled game of the games registry. */
  readonly assignTask: () => Promise<GameItem[]>;
  /** This worker's identity (slave name, host, pid), recorded with each item it runs. */
  readonly identity: string;
  /** `ctx.ask`: an analysis's answer, cached or computed in this activity (activities/analysis.ts). */
  readonly ask: (analysis: string, params: RawParams, options: { readonly refresh?: boolean }, where: Computing) => Promise<AnalysisAnswer>;
}

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_ITEM_TIMEOUT_SECONDS = 600;
/**
 * Items per `executeBatch` activity unless the task says (`batchSize`).
 * Measured with `npm run bench -- rerun-scale` (see bench/rerun-scale.ts): a
 * round trip through Temporal costs about 9 ms on the dev server, so 50
 * items cut that to well under a millisecond per item, while a batch of
 * report items (about a millisecond each) still reports back every tenth of
 * a second or so; larger batches gained little and make more to redo when a
 * slave dies.
 */
export const DEFAULT_BATCH_SIZE = 50;

/** How a batch's item runs: its own signal and heartbeat, and its own key for `ctx.ask`. */
interface ItemScope {
  readonly signal: AbortSignal;
  readonly heartbeat: (details?: unknown) => void;
  readonly execution: string;
}

export function createRunActivities(deps: RunDependencies) {
  const lookup = (input: RunInput): AnyTask => lookupTask(deps.registry, input.job, input.task);

  /** The context of job code; `within` a batch, each item has its own signal, heartbeat and `ask` key. */
  function taskContext(input: RunInput, scope: string, within?: ItemScope): TaskContext {
    const activity = Context.current();
    const log = deps.log.child(`${input.job}.${input.task}`);
    const fields = { period: input.period.key, item: scope };
    return {
      job: input.job,
      task: input.task,
      period: input.period,
      curTime: () => Math.floor(input.period.start / 1000),
      redis: deps.redis,
      mysql: deps.mysql,
      // The game's own clients and zone (games registry, cached per process), else these defaults.
      game: gameResolver({ redis: deps.redis, mysql: deps.mysql, names: deps.names, zone: input.period.zone }, activity.info.workflowExecution?.runId),
      names: deps.names,
      log: withFields(log, fields),
      heartbeat: within?.heartbeat ?? ((details) => activity.heartbeat(details)),
      signal: within?.signal ?? activity.cancellationSignal,
      filters: input.filters ?? {},
      ask: (analysis, params, options = {}) =>
        deps.ask(analysis, params, options, {
          workflowId: activity.info.workflowExecution?.workflowId ?? activity.info.activityId,
          // One ledger row per attempt of this item's activity.
          execution: within?.execution ?? `${activity.info.activityId}#${activity.info.attempt}`,
          heartbeat: within?.heartbeat ?? ((d) => activity.heartbeat(d)),
          signal: within?.signal ?? activity.cancellationSignal,
        }),
    };
  }

  return {
    /** The task's dependency and time limit, read before anything runs. */
    async runSettings(input: RunInput): Promise<RunSettings> {
      const task = lookup(input);
      const dependency = task.waitForTask ? parseDependency(task.waitForTask) : undefined;
      const timeoutSeconds = task.executeTimeout ?? defaultTimeout(task.schedule);
      return {
        ...(dependency && {
          dependency: { ...dependency, giveUpSeconds: task.waitGiveUpSeconds ?? DEFAULT_GIVE_UP_SECONDS, onGiveUp: task.onGiveUp ?? 'run' },
        }),
        ...(timeoutSeconds !== undefined && { timeoutSeconds }),
      };
    },

    /** `mapTask` → the run's items, each labelled and, if pinned, tied to its slave. */
    async planRun(input: RunInput): Promise<RunPlan> {
      const task = lookup(input);
      const games = input.filters?.games;
      const assignTask = async () => {
        const all = await deps.assignTask();
        return games ? all.filter((item) => games.includes(item.game)) : all;
      };
      const ctx: MapContext = { ...taskContext(input, 'mapTask'), assignTask };
      let mapped: readonly unknown[] | string;
      try {
        mapped = await whileBeating(async () => (task.mapTask ? await task.mapTask(ctx) : await assignTask()));
      } catch (err) {
        classify(err);
      }
      const items = planItems(input, mapped);
      return {
        // `-g` keeps only those games' items, whatever mapTask returned.
        items: games ? items.filter((i) => i.game !== undefined && games.includes(i.game)).map((i, index) => ({ ...i, index })) : items,
        concurrency: task.concurrency ?? deps.config.concurrency,
        maxAttempts: task.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        itemTimeoutSeconds: task.itemTimeoutSeconds ?? DEFAULT_ITEM_TIMEOUT_SECONDS,
        slaveWaitSeconds: deps.config.slaveWaitSeconds,
        slaveFallback: task.slaveFallback ?? 'fail',
        hasAfterExecute: typeof task.afterExecute === 'function',
        batchSize: task.batchSize ?? DEFAULT_BATCH_SIZE,
      };
    },

    /** The task's `execute` for one item, with where and how it ran (for the ledger). */
    async executeItem(input: RunInput, item: PlannedItem): Promise<ExecutedItem> {
      const task = lookup(input);
      const info = Context.current().info;
      const started = Date.now();
      try {
        const result = await whileBeating(() => task.execute(item.item, taskContext(input, item.label)));
        return { result: result === undefined ? null : result, attempt: info.attempt, ranOn: deps.identity, durationMs: Date.now() - started };
      } catch (err) {
        classify(err);
      }
    },

    /**
     * The task's `execute` for several items, one after the other, each with
     * its own outcome: an item that fails is reported, never thrown, so the
     * others run and the workflow retries only that one. The activity itself
     * fails only when its slave does (a heartbeat timeout): Temporal then
     * retries it, and the retry skips the items its last heartbeat recorded
     * as finished.
     *
     * Items run one at a time: the workflow's lanes already bound how many
     * items of a run execute at once (`concurrency`), and one item at a time
     * keeps each item's duration its own and what a dead slave leaves
     * unfinished down to one item. Each item has the task's own time limit
     * (`itemTimeoutSeconds`); past it the item's `ctx.signal` aborts and it
     * fails (retryable, like a timed-out item activity). When the slave is
     * stopping (its grace time over), the batch returns what it finished and
     * the workflow runs the rest elsewhere.
     */
    async executeBatch(input: RunInput, items: readonly PlannedItem[], options: { readonly itemTimeoutSeconds: number; readonly keepResults: boolean }): Promise<BatchResult> {
      const task = lookup(input);
      const activity = Context.current();
      const { activityId, attempt } = activity.info;
      const previous = batchProgressOf(activity.info.heartbeatDetails);
      const done = new Map<number, BatchItemOutcome>((previous?.done ?? []).map((o) => [o.index, o]));
      const tries: Record<number, number> = { ...previous?.tries };
      let running: BatchProgress['running'];
      const beat = (): void => activity.heartbeat({ batch: 1, done: [...done.values()], tries, ...(running && { running }) } satisfies BatchProgress);
      // Every heartbeat carries the record (one without details would erase it). A batch done within
      // the first second sends none: a cheap batch costs no round trip beyond its own.
      const timer = setInterval(beat, BATCH_BEAT_MS);
      const cancelled = new Promise<'cancelled'>((resolve) => {
        if (activity.cancellationSignal.aborted) resolve('cancelled');
        activity.cancellationSignal.addEventListener('abort', () => resolve('cancelled'), { once: true });
      });
      try {
        for (const item of items) {
          if (done.has(item.index)) continue;
          if (activity.cancellationSignal.aborted) break;
          const tried = (tries[item.index] ?? 0) + 1;
          tries[item.index] = tried;
          running = { label: item.label };
          const timeLimit = new AbortController();
          const scope: ItemScope = {
            signal: AbortSignal.any([activity.cancellationSignal, timeLimit.signal]),
            heartbeat: (details) => {
              running = { label: item.label, ...(details !== undefined && { details }) };
              beat();
            },
            execution: `${activityId}#${attempt}#${item.index}`,
          };
          const started = Date.now();
          let limitTimer: NodeJS.Timeout | undefined;
          const overdue = new Promise<'overdue'>((resolve) => (limitTimer = setTimeout(() => resolve('overdue'), options.itemTimeoutSeconds * 1000)));
          const work = (async () => task.execute(item.item, taskContext(input, item.label, scope)))().then(
            (result: unknown) => ({ result }),
            (error: unknown) => ({ error }),
          );
          const settled = await Promise.race([work, overdue, cancelled]);
          clearTimeout(limitTimer);
          // Cancelled mid-item: the item did not finish here; it is not recorded (it is pending, or runs elsewhere).
          if (settled === 'cancelled') break;
          const base = { index: item.index, attempts: tried, ranOn: deps.identity, durationMs: Date.now() - started };
          if (settled === 'overdue') {
            timeLimit.abort(new Error(`${item.label}: over the time limit of ${options.itemTimeoutSeconds} s`));
            done.set(item.index, { ...base, ok: false, error: `execute took longer than itemTimeoutSeconds (${options.itemTimeoutSeconds} s)`, retryable: true });
          } else if ('error' in settled) {
            done.set(item.index, { ...base, ok: false, ...itemFailure(settled.error) });
          } else {
            done.set(item.index, { ...base, ok: true, result: options.keepResults && settled.result !== undefined ? settled.result : null });
          }
          delete tries[item.index];
          running = undefined;
        }
      } finally {
        clearInterval(timer);
      }
      // Asked to stop by the run (cancelled, cut off): the run no longer waits for this answer.
      if (activity.cancellationSignal.aborted && !activity.cancellationDetails?.workerShutdown) throw new CancelledFailure('batch cancelled');
      return { outcomes: items.flatMap((i) => done.get(i.index) ?? []) };
    },

    /** The task's `afterExecute` with every item's outcome (the original gflow's `resultSets`). */
    async afterExecute(input: RunInput, outcomes: readonly ItemOutcome[], items: readonly PlannedItem[]): Promise<unknown> {
      const task = lookup(input);
      if (!task.afterExecute) return null;
      const resultSets: ResultSet<unknown, unknown>[] = outcomes.map((o) =>
        o.ok ? { item: items[o.index]!.item, ok: true, result: o.result } : { item: items[o.index]!.item, ok: false, error: o.error },
      );
      try {
        const result = await whileBeating(async () => task.afterExecute!(resultSets, taskContext(input, 'afterExecute')));
        return result === undefined ? null : result;
      } catch (err) {
        classify(err);
      }
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;

/**
 * How often a batch records its progress in a heartbeat. The SDK sends at
 * most one per throttle interval (the slave sets it: worker/slave.ts), always
 * the latest; that interval bounds how much a killed slave's batch redoes and
 * how soon a cancelled batch hears of it.
 */
const BATCH_BEAT_MS = 1000;

/** A previous attempt's record of a batch, when its heartbeat left one (job code may have heartbeated details of its own). */
function batchProgressOf(details: unknown): BatchProgress | undefined {
  const d = details as Partial<BatchProgress> | null | undefined;
  return typeof d === 'object' && d !== null && d.batch === 1 && Array.isArray(d.done) && typeof d.tries === 'object' && d.tries !== null ? (d as BatchProgress) : undefined;
}

/** An item's error as the item activity would report it, and whether its retry policy would retry it. */
function itemFailure(err: unknown): { error: string; retryable: boolean } {
  try {
    classify(err);
  } catch (classified) {
    if (classified instanceof ApplicationFailure) {
      return { error: classified.message, retryable: !classified.nonRetryable && !NON_RETRYABLE_ERRORS.includes(classified.type ?? '') };
    }
    return { error: messageOf(classified), retryable: true };
  }
}

/** The original gflow's default: at most half the time to the next scheduled run. */
function defaultTimeout(schedule: TaskSchedule): number | undefined {
  const spacing = scheduleSpacingSeconds(schedule);
  return spacing === undefined ? undefined : Math.floor(spacing / 2);
}

function planItems(input: RunInput, mapped: readonly unknown[] | string): PlannedItem[] {
  if (typeof mapped === 'string') {
    // The original gflow's `return ip`: the whole task runs once, on that slave.
    return [{ index: 0, label: `slave ${mapped}`, slave: mapped, item: { slave: mapped } }];
  }
  if (!Array.isArray(mapped)) {
    throw ApplicationFailure.create({
      message: `${input.job}.${input.task}: mapTask must return an array of items or a slave name, got ${typeof mapped}`,
      type: USER_ERROR,
      nonRetryable: true,
    });
  }
  return mapped.map((item, index) => {
    const record = (typeof item === 'object' && item !== null ? item : {}) as { game?: unknown; slave?: unknown };
    if (record.game !== undefined && !isGameId(record.game)) {
      throw ApplicationFailure.create({
        message: `${input.job}.${input.task}: mapTask returned item ${index} with game ${describeValue(record.game)}: a game is a whole number from 1 to ${MAX_GAME_ID}`,
        type: USER_ERROR,
        nonRetryable: true,
      });
    }
    const game = typeof record.game === 'number' ? record.game : undefined;
    const slave = typeof record.slave === 'string' && record.slave !== '' ? record.slave : undefined;
    const label = game !== undefined ? `game ${game}` : `item ${index}`;
    return { index, label, ...(game !== undefined && { game }), ...(slave !== undefined && { slave }), item };
  });
}
