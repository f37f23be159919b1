/**
 * Every name gflow creates in Temporal, Redis and MySQL is derived here, from
 * the configured prefix, so that two installations (or two test runs) sharing
 * one Temporal, Redis and MySQL never clash, and no name is typed twice.
 * Pure code: safe to import from workflows.
 */
import { usageError } from './errors';
import { GAME_ID_FORM, isGameId } from './game';
import { searchAttributes } from './search-attributes';

// The search attributes are listed once, in ./search-attributes; re-exported here for the many readers of names.
export { runSearchAttributes, searchAttributes, searchAttributeTypes } from './search-attributes';

/** A prefix goes into MySQL schema names, Redis keys and Temporal ids: keep it to a safe alphabet. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,30}$/;

/** A name inside a Redis key (stream name, consumer group): no `:` so it cannot pose as another key's part. */
export const KEY_PART = /^[A-Za-z0-9_.-]{1,64}$/;

/** Whether `value` may be one part of a Redis key: {@link KEY_PART}, and not only dots. */
export function isKeyPart(value: unknown): value is string {
  return typeof value === 'string' && KEY_PART.test(value) && !/^\.+$/.test(value);
}

/** The names of one installation. */
export class Names {
  constructor(readonly prefix: string) {}

  /** The task queue every slave polls: unpinned items and all workflows run here. */
  get sharedQueue(): string {
    return `${this.prefix}.shared`;
  }

  /** A slave's own task queue: items pinned to that slave run here. */
  slaveQueue(slave: string): string {
    return `${this.prefix}.slave.${slave}`;
  }

  /** One Temporal Schedule per calendar/interval task, e.g. `gflow.report.active`. */
  scheduleId(job: string, task: string): string {
    return `${this.prefix}.${job}.${task}`;
  }

  /** The workflow the schedule starts each time it fires; Temporal appends the fire time. */
  scheduledTickId(job: string, task: string): string {
    return `${this.prefix}.${job}.${task}.tick`;
  }

  /** One run of one task for one period, e.g. `gflow.report.active.20261124`. */
  runId(job: string, task: string, periodKey: string): string {
    return `${this.prefix}.${job}.${task}.${periodKey}`;
  }

  /** A once-task has one id, so a second start while one runs is refused (the original gflow's singleton). */
  onceRunId(job: string, task: string): string {
    return `${this.prefix}.${job}.${task}.once`;
  }

  /** A rerun: `<prefix>.<job>.rerun-<stamp>`; `stamp` makes it unique and sortable. */
  rerunId(job: string, stamp: string): string {
    return `${this.prefix}.${job}.rerun-${stamp}`;
  }

  /** A retry of chosen cells (`gflow retry`): `<prefix>.<job>.retry-<stamp>`, a rerun recorded as a retry. */
  retryId(job: string, stamp: string): string {
    return `${this.prefix}.${job}.retry-${stamp}`;
  }

  /** One period of a rerun: its recompute runs under this id. */
  rerunPeriodId(rerunId: string, task: string, periodKey: string): string {
    return `${rerunId}.${task}.${periodKey}`;
  }

  /** The restore of a rerun's backups. */
  restoreId(rerunId: string): string {
    return `${rerunId}.restore`;
  }

  /**
   * One analysis request, readable in the web UI: `gflow.report.retention.ask.game=7,from=20261101,to=20261115`.
   * Identical parameters give the same id, so an identical request joins the one running.
   * @param readable the parameters as `k=v,…` in their declared order; `digest` keeps long ones unique.
   */
  analysisRunId(job: string, analysis: string, readable: string, digest: string): string {
    const base = `${this.prefix}.${job}.${analysis}.ask.`;
    return readable.length <= 160 ? `${base}${readable}` : `${base}${readable.slice(0, 140)}…${digest}`;
  }

  /** This installation's reruns (optionally of one job). */
  rerunsQuery(job?: string): string {
    const clauses = [`${searchAttributes.prefix.name} = '${this.prefix}'`, `WorkflowType = 'rerun'`];
    if (job) clauses.push(`${searchAttributes.job.name} = '${job}'`);
    return clauses.join(' AND ');
  }

  /** Visibility query for this installation's runs of a job (and optionally some of its tasks). */
  runsQuery(job: string, options: { tasks?: readonly string[]; running?: boolean } = {}): string {
    const clauses = [`${searchAttributes.prefix.name} = '${this.prefix}'`, `${searchAttributes.job.name} = '${job}'`];
    if (options.tasks && options.tasks.length > 0) {
      clauses.push(`${searchAttributes.task.name} IN (${options.tasks.map((t) => `'${t}'`).join(', ')})`);
    }
    if (options.running) clauses.push(`ExecutionStatus = 'Running'`);
    return clauses.join(' AND ');
  }

  /** A Redis key under this installation's prefix. */
  redisKey(...parts: ReadonlyArray<string | number>): string {
    return [this.prefix, ...parts].join(':');
  }

  /**
   * A Redis key of one game: `<prefix>:<space>:{<game>}:<parts>`. The game
   * in braces is the key's hash tag: Redis Cluster puts every key with the
   * same tag in one slot, so the commands, scripts and pipelines that work
   * on several keys of a game run on a cluster as on one Redis
   * (docs/architecture.md "Redis Cluster"). Keys of two games may be in
   * different slots: never touch two games in one command.
   * @throws UserError (exit 2) when `game` is not a game id.
   *
   * @example
   * ```ts
   * names.gameKey('act', 7, '20261124', 'active'); // 'gflow:act:{7}:20261124:active'
   * ```
   */
  gameKey(space: string, game: number, ...parts: ReadonlyArray<string | number>): string {
    if (!isGameId(game)) throw usageError(`game id ${JSON.stringify(game)} is not valid: use ${GAME_ID_FORM}`);
    return this.redisKey(space, `{${game}}`, ...parts);
  }

  /** A MySQL schema of this installation: meta, tag, report or log. */
  schema(layer: 'meta' | 'tag' | 'report' | 'log'): string {
    return `${this.prefix}_${layer}`;
  }
}
