/**
 * How activity errors reach Temporal: a `UserError` (bad input, a missing
 * backup, an unmigrated schema) cannot get better by retrying, so it fails
 * at once; anything else is retried by the activity's policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { isUserError } from '../core/errors';

export function classify(err: unknown): never {
  if (err instanceof ApplicationFailure) throw err;
  if (isUserError(err)) throw ApplicationFailure.create({ message: err.message, type: 'UserError', nonRetryable: true });
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
