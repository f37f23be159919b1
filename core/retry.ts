/**
 * The failure types an activity raises and the retry policy that honours
 * them, defined once: activities throw these types (`activities/failures.ts`),
 * workflows' activity options refuse to retry them. Pure code: safe to
 * import from workflows.
 */
import type { RetryPolicy } from '@temporalio/common';

/** Bad input, a missing backup, an unmigrated schema: a {@link UserError}, which retrying cannot mend. */
export const USER_ERROR = 'UserError';

/** The slave's code lacks the task it was asked to run: retrying on the same slave cannot help. */
export const UNKNOWN_TASK = 'UnknownTask';

/** A run gave up waiting for the task it depends on (its `onGiveUp` is `fail`). */
export const DEPENDENCY_GAVE_UP = 'DependencyGaveUp';

/** Failure types no activity retry can mend. */
export const NON_RETRYABLE_ERRORS: readonly string[] = Object.freeze([USER_ERROR, UNKNOWN_TASK]);

/**
 * The retry policy of gflow's activities: retried with Temporal's backoff,
 * never for {@link NON_RETRYABLE_ERRORS}.
 * @param maximumAttempts attempts in all, including the first; unset: until the activity's timeout.
 * @param options further settings of the policy (intervals, backoff).
 */
export function retryPolicy(maximumAttempts?: number, options: Omit<RetryPolicy, 'maximumAttempts' | 'nonRetryableErrorTypes'> = {}): RetryPolicy {
  return {
    ...options,
    ...(maximumAttempts !== undefined && { maximumAttempts }),
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS],
  };
}
