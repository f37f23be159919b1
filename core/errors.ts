/**
 * The one error type for mistakes a user can fix: bad input, an unknown job,
 * an unreachable service. The CLI prints its message as one line and exits
 * with its code; anything else is a bug and shows a stack trace with --verbose.
 */
export class UserError extends Error {
  /** 2 for usage errors (bad input), 1 for failures (a service down, a run that failed). */
  readonly exitCode: 1 | 2;
  /**
   * Whether a Temporal activity should retry it: a service that is down may
   * be back for the next attempt; bad input never gets better.
   */
  readonly retryable: boolean;

  constructor(message: string, options: { exitCode?: 1 | 2; cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? 2;
    this.retryable = options.retryable ?? false;
  }
}

/** A usage error: the input is wrong; nothing was changed. Exit code 2. */
export function usageError(message: string): UserError {
  return new UserError(message, { exitCode: 2 });
}

/** A failure: the input was fine, something it needs was not. Exit code 1. */
export function failure(message: string, cause?: unknown): UserError {
  return new UserError(message, { exitCode: 1, cause });
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** The message of anything thrown, for one-line reports. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
