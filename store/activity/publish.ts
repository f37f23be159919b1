/**
 * Report notifications (the original gflow's "message flow: publish/subscribe"): when
 * a task has finished a report period for a game, gflow publishes one
 * message on the Redis channel {@link reportChannel}, so front ends refresh
 * that game's dashboard instead of polling MySQL.
 *
 * Subscribe from any Redis client on its own connection (a subscribed
 * connection can do nothing else):
 *
 *     redis-cli SUBSCRIBE gflow:reports
 *
 * Delivery is Redis pub/sub: at most once, only to subscribers connected at
 * that moment. A front end that was away re-reads the report tables; the
 * message is a hint to refresh, never the data itself.
 */
import type { Redis } from '../../infra/redis';
import { JOB_NAME, TASK_NAME } from '../../core/job';
import type { Names } from '../../core/names';
import { usageError } from '../../core/errors';
import { isGameId } from '../../core/game';
import { describeValue } from '../identifiers';

/**
 * The message published when a report period is finished, as JSON text.
 *
 * @example
 * ```json
 * {"job":"report","task":"active","game":7,"period":"20261124"}
 * ```
 */
export interface ReportFinished {
  /** The job's name, e.g. `report` (or `layer.job`). */
  readonly job: string;
  /** The task within the job, e.g. `active`. */
  readonly task: string;
  /** The game id whose rows are now final for the period. */
  readonly game: number;
  /** The period's key: `YYYYMMDD` day, `YYYYMM` month, `YYYYWW0` ISO week, `YYYYMMDDHH` hour, `YYYYMMDDHHMM` minute. */
  readonly period: string;
}

const PERIOD_KEY = /^(\d{6}|\d{7}|\d{8}|\d{10}|\d{12})$/;

/** The channel of this installation's report notifications: `<prefix>:reports`. */
export function reportChannel(names: Names): string {
  return names.redisKey('reports');
}

/**
 * Check a message's fields.
 * @throws UserError (exit 2) naming the field.
 */
export function validateReportFinished(value: unknown): ReportFinished {
  const o = (value ?? {}) as Record<string, unknown>;
  if (typeof o.job !== 'string' || !JOB_NAME.test(o.job)) throw usageError(`report message: job ${describeValue(o.job)} is not a job name`);
  if (typeof o.task !== 'string' || !TASK_NAME.test(o.task)) throw usageError(`report message: task ${describeValue(o.task)} is not a task name`);
  if (!isGameId(o.game)) throw usageError(`report message: game ${describeValue(o.game)} is not a game id`);
  if (typeof o.period !== 'string' || !PERIOD_KEY.test(o.period)) {
    throw usageError(`report message: period ${describeValue(o.period)} is not a period key (YYYYMMDD, YYYYMM, YYYYWW0, YYYYMMDDHH, YYYYMMDDHHMM)`);
  }
  return { job: o.job, task: o.task, game: o.game, period: o.period };
}

/**
 * Publish that `message.task` of `message.job` finished `message.period` for `message.game`.
 * @returns the number of subscribers that received it.
 */
export async function publishReportFinished(redis: Redis, names: Names, message: ReportFinished): Promise<number> {
  const m = validateReportFinished(message);
  return redis.publish(reportChannel(names), JSON.stringify({ job: m.job, task: m.task, game: m.game, period: m.period }));
}

/** Parse a received message (for subscribers written in TypeScript). */
export function parseReportFinished(text: string): ReportFinished {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`report message ${describeValue(text)} is not JSON`);
  }
  return validateReportFinished(value);
}
