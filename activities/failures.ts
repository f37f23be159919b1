/**
 * How activity errors reach Temporal: a `UserError` (bad input, a missing
 * backup, an unmigrated schema) cannot get better by retrying, so it fails
 * at once; anything else is retried by the activity's policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isUserError, messageOf } from '../core/errors';
import type { AnyTask } from '../core/job';
import { UNKNOWN_TASK, USER_ERROR } from '../core/retry';
import type { JobRegistry } from '../infra/jobs';
import { isMissingSchema } from '../infra/sql-errors';

export function classify(err: unknown): never {
  if (err instanceof ApplicationFailure) throw err;
  if (isUserError(err) && !err.retryable) throw ApplicationFailure.create({ message: err.message, type: USER_ERROR, nonRetryable: true });
  // A missing schema or table does not appear by retrying: say what to run.
  if (isMissingSchema(err)) throw ApplicationFailure.create({ message: `${messageOf(err)} (run gflow db migrate)`, type: USER_ERROR, nonRetryable: true });
  throw err;
}

/** Run `fn`, classifying what it throws. */
export async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return classify(err);
  }
}

/** The slave's definition of a task; a slave whose code lacks it fails the activity for good (retrying here cannot help). */
export function lookupTask(registry: JobRegistry, job: string, task: string): AnyTask {
  try {
    return registry.task(job, task);
  } catch (err) {
    throw ApplicationFailure.create({ message: messageOf(err), type: UNKNOWN_TASK, nonRetryable: true });
  }
}
