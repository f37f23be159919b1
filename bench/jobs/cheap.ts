/**
 * The rerun-scale benchmark's job (bench/rerun-scale.ts): a cheap `execute`
 * (no I/O, a number from the game and the day), so what a rerun costs is
 * orchestration. It declares a report table, so a rerun backs up and diffs
 * it per period like any report task (the rows stay empty). `daily` has the
 * default batch size; `b1` … `b100` the same task with another, for the
 * benchmark's `--sweep` (`b1`: one activity per item, as before batches).
 */
import { defineJob, defineTask, type TaskDefinition } from 'gflow';

function cheap(name: string, batchSize?: number) {
  const definition: TaskDefinition<{ game: number }, { game: number; value: number }> = {
    name,
    atExecute: 'd1',
    ...(batchSize !== undefined && { batchSize }),
    reports: [{ table: 'bench_cheap', periodColumn: 'day' }],
    execute: (item, ctx) => ({ game: item.game, value: (item.game * 7 + Math.floor(ctx.period.start / 86_400_000)) % 1000 }),
  };
  return defineTask(definition);
}

/** Batch sizes the sweep compares, each a task `b<size>`. */
export const SWEEP_SIZES = [1, 10, 25, 100] as const;

export default defineJob({
  name: 'cheap',
  registerTask: [cheap('daily'), ...SWEEP_SIZES.map((size) => cheap(`b${size}`, size))],
  migrations: [{ version: 1, up: 'CREATE TABLE IF NOT EXISTS {report}.bench_cheap (game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, value INT NULL, PRIMARY KEY (game_id, day))' }],
});
