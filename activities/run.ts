/**
 * The activities of a run: plan it (`mapTask`), execute one item, and hand
 * every result to `afterExecute`. They load the task from the slave's job
 * registry, so job code never enters the deterministic workflow sandbox.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { parseDependency, type AnyTask, type GameItem, type MapContext, type ResultSet, type TaskContext } from '../core/job';
import { scheduleSpacingSeconds, type TaskSchedule } from '../core/schedule';
import type { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { JobRegistry } from '../infra/jobs';
import type { Logger } from '../infra/logger';
import type { Pool } from '../infra/mysql';
import type { Redis } from '../infra/redis';
import { describeValue, isGameId, MAX_GAME_ID } from '../store/identifiers';
import { gameResolver } from '../store/games/directory';
import { USER_ERROR } from '../core/retry';
import { classify, lookupTask } from './failures';
import type { ExecutedItem, ItemOutcome, PlannedItem, RunInput, RunPlan, RunSettings } from './types';

const DEFAULT_GIVE_UP_SECONDS = 1800;

export interface RunDependencies {
  readonly config: Config;
  readonly registry: JobRegistry;
  readonly names: Names;
  readonly redis: Redis;
  readonly mysql: Pool;
  readonly log: Logger;
  /** One item per enabled game of the games registry. */
  readonly assignTask: () => Promise<GameItem[]>;
  /** This worker's identity (slave name, host, pid), recorded with each item it runs. */
  readonly identity: string;
}

const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_ITEM_TIMEOUT_SECONDS = 600;

export function createRunActivities(deps: RunDependencies) {
  const lookup = (input: RunInput): AnyTask => lookupTask(deps.registry, input.job, input.task);

  function taskContext(input: RunInput, scope: string): TaskContext {
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
      log: {
        debug: (m, f) => log.debug(m, { ...fields, ...f }),
        info: (m, f) => log.info(m, { ...fields, ...f }),
        warn: (m, f) => log.warn(m, { ...fields, ...f }),
        error: (m, f) => log.error(m, { ...fields, ...f }),
      },
      heartbeat: (details) => activity.heartbeat(details),
      signal: activity.cancellationSignal,
      filters: input.filters ?? {},
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

/** How often gflow heartbeats for job code; the workflows' heartbeat timeout is a minute. */
const HEARTBEAT_MS = 10_000;

/**
 * Run job code while heartbeating on its behalf, so a slave that dies mid-item
 * is noticed within the heartbeat timeout (and the item retried elsewhere)
 * instead of after the item's whole time limit; `ctx.heartbeat()` still adds
 * details of its own.
 */
async function whileBeating<T>(fn: () => Promise<T> | T): Promise<T> {
  const activity = Context.current();
  const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
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
