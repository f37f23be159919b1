/** The workflows a slave registers. Deterministic code only: no I/O, no Node built-ins. */
export { taskRun } from './task-run';
export { scheduledRun } from './scheduled-run';
export { rerun } from './rerun';
export { restore } from './restore';
export { analysisRun } from './analysis';
