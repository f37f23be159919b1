/**
 * gflow's public job API: what a job file imports.
 *
 * @example
 * ```ts
 * // jobs/hello.ts in your project, run with `npx gflow start hello`
 * import { defineJob, defineTask } from 'gflow';
 *
 * export default defineJob({
 *   name: 'hello',
 *   registerTask: [defineTask({ name: 'greet', breakExecute: true, execute: (myTask) => `hello game ${myTask.game}` })],
 * });
 * ```
 */
export { defineJob, defineTask } from './core/job';
export type {
  GameItem,
  Job,
  JobDefinition,
  MapContext,
  Pinnable,
  ResultSet,
  RunFilters,
  Task,
  TaskContext,
  TaskDefinition,
  TaskLogger,
} from './core/job';
export type { Period } from './core/period';
export { periodValue } from './core/report';
export type { CheckSeverity, OrderedCheck, RangeCheck, ReportCheck, ReportTable, RowPerGameCheck } from './core/report';
export { UserError, usageError } from './core/errors';
