/**
 * gflow's public job API: what a job file imports, and all it needs to
 * import. A job under `jobs/` imports 'gflow' (plus node built-ins and npm
 * packages), never gflow's folders: it then reads like a user's job, and
 * gflow may move its internals without breaking it.
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
 *
 * @example
 * ```ts
 * // A daily report: its table declared (created by `gflow db migrate`), counted in each game's Redis.
 * import { activityStore, announceFinished, daysEnding, defineJob, defineTask, periodValue, upsertReport } from 'gflow';
 *
 * const wau = defineTask({
 *   name: 'wau',
 *   atExecute: 'd0H30',
 *   reports: [{ table: 'report_wau', periodColumn: 'day' }],
 *   async execute(item, ctx) {
 *     const game = await ctx.game(item.game); // its own Redis and zone, from the games registry
 *     const store = await activityStore(ctx, game);
 *     const users = await store.unionCount(item.game, 'active', daysEnding(ctx.period.key, 7));
 *     await upsertReport(ctx.mysql, ctx.names, 'report_wau', ['game_id', 'day', 'wau'], [[item.game, periodValue(ctx.period), users]], ['wau']);
 *     await announceFinished(ctx, item.game);
 *     return { game: item.game, users };
 *   },
 * });
 *
 * export default defineJob({
 *   name: 'weekly',
 *   registerTask: [wau],
 *   migrations: [{ version: 1, up: 'CREATE TABLE IF NOT EXISTS {report}.report_wau (game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, wau INT UNSIGNED NOT NULL, PRIMARY KEY (game_id, day))' }],
 * });
 * ```
 */

// Defining jobs and tasks; what their hooks receive.
export { defineJob, defineTask } from './core/job';
export type {
  CodeContext,
  GameContext,
  GameItem,
  Job,
  JobDefinition,
  JobMigration,
  MapContext,
  Pinnable,
  ResultSet,
  RunFilters,
  Task,
  TaskContext,
  TaskDefinition,
  TaskLogger,
} from './core/job';
export type { Names } from './core/names';

// Analyses: questions answered on demand (`gflow ask`, HTTP, the Redis request stream) and cached.
export { defineAnalysis, param, ParamError } from './core/analysis';
export type { Analysis, AnalysisAnswer, AnalysisContext, AnalysisDefinition, NormalParams, ParamSpec, ParamsOf, RawParams, WholeRange } from './core/analysis';
export { UserError, failure, usageError } from './core/errors';

// Periods and local days: `addDays('20261124', -1)`, `daysEnding(day, 7)`, `dayBounds(day, zone)`.
export type { Period } from './core/period';
export { addDays, dayBounds, dayKeyOf, dayRange, daysEnding, type DayBounds } from './core/day';

// Report tables: declared on tasks (`reports`, `checks`), created by the job's `migrations`, written by upserts.
export { periodValue } from './core/report';
export type { CheckSeverity, OrderedCheck, RangeCheck, ReportCheck, ReportTable, RowPerGameCheck } from './core/report';
export { reportTableId, upsertReport, type ReportCell } from './store/schema/report-tables';

// A game's activity (users per day: active, new, payers; online buckets; revenue), counted in its Redis.
export { activityStore } from './store/activity/for-jobs';
export type { ActivitySettings, ActivityStore, DayKind, DayRef, DayRevenue, Retention, SegmentFilter } from './store/activity/store';

// Finished periods, announced on `<prefix>:reports` for front ends.
export { announceFinished } from './store/activity/for-jobs';
export { parseReportFinished, reportChannel, type ReportFinished } from './store/activity/publish';

// Events: the stream the collectors drain, and a job's own consumer group on it.
export { collectStream, consumeEvents, landConfiguration } from './store/activity/for-jobs';
export type { BatchResult, ConsumeOptions, ConsumeResult } from './store/activity/for-jobs';
export type { EventType, PlayerEvent } from './store/activity/events';
