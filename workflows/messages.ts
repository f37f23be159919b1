/** Queries and signals of gflow's workflows: clients import these constants. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Delivery } from '../activities/analysis';
import type { RunProgress } from '../activities/types';

/** A run's live progress: items total, done, failed. */
export const progressQuery = defineQuery<RunProgress>('progress');

/** A rerun's live progress, for the CLI's progress bar. */
export interface RerunProgress {
  readonly total: number;
  readonly done: number;
  readonly gamesFailed: number;
  readonly checksFailed: number;
  readonly periodsFailed: number;
  readonly startedAt: string;
  /** `task.period` labels being recomputed now. */
  readonly running: readonly string[];
}

export const rerunProgressQuery = defineQuery<RerunProgress>('rerunProgress');

/** A stream request joins an analysis: answer it too (its entry id and reply list). */
export const replyToSignal = defineSignal<[Delivery]>('replyTo');
