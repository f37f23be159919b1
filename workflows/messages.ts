/** Queries of gflow's workflows: clients import these constants. */
import { defineQuery } from '@temporalio/workflow';
import type { RunProgress } from '../activities/types';

/** A run's live progress: items total, done, failed. */
export const progressQuery = defineQuery<RunProgress>('progress');
