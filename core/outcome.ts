/**
 * How a run ended, as the ledger records it and the `GflowOutcome` search
 * attribute shows it. Pure code: the run workflow decides the outcome.
 */

/** A finished run's outcome; `running` while it runs. */
export const OUTCOMES = ['running', 'ok', 'partial', 'failed', 'cancelled', 'timed_out', 'skipped'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type FinalOutcome = Exclude<Outcome, 'running'>;

/** How a run was started. */
export const ORIGINS = ['schedule', 'start', 'rerun', 'retry'] as const;
export type Origin = (typeof ORIGINS)[number];

/** Who started a run, and why: carried from the CLI (or the schedule's creator) into the ledger. */
export interface StartedBy {
  /** OS user name. */
  readonly user: string;
  readonly host: string;
  /** `--reason`, if given. */
  readonly reason?: string;
}

/** The longest `--reason` kept. */
export const MAX_REASON_LENGTH = 500;

/** One item's outcome in the ledger. */
export type ItemOutcomeName = 'ok' | 'failed' | 'pending' | 'cancelled';

/** What a run's items and steps came to, in the order the outcome is decided. */
export interface OutcomeFacts {
  readonly cancelled: boolean;
  /** A whole-run failure (mapTask threw, a dependency given up on with `onGiveUp: 'fail'`). */
  readonly error?: string;
  readonly timedOut: boolean;
  readonly itemsFailed: number;
  /** `afterExecute` threw. */
  readonly afterExecuteFailed: boolean;
}

/**
 * The outcome of a run: cancellation and whole-run failure win; a run cut
 * off at its limit is `timed_out`; any failed item or hook makes it
 * `partial`; else `ok`. A run with no items at all is `ok`: nothing was due.
 */
export function decideOutcome(facts: OutcomeFacts): FinalOutcome {
  if (facts.cancelled) return 'cancelled';
  if (facts.error !== undefined) return 'failed';
  if (facts.timedOut) return 'timed_out';
  if (facts.itemsFailed > 0 || facts.afterExecuteFailed) return 'partial';
  return 'ok';
}

/** The words an operator reads for an outcome. */
export function outcomeWords(outcome: Outcome): string {
  return outcome === 'timed_out' ? 'timed out' : outcome;
}
