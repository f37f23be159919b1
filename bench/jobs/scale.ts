/** The benchmark's report task: one upserted row per game and day, declared for reruns. */
import { defineJob, defineTask, periodValue } from 'gflow';

const daily = defineTask({
  name: 'daily',
  atExecute: 'd1',
  concurrency: 20,
  reports: [{ table: 'bench_daily', periodColumn: 'day' }],
  checks: [{ kind: 'range', table: 'bench_daily', column: 'value', min: 0 }, { kind: 'rowPerGame', table: 'bench_daily' }],
  async execute(item, ctx) {
    const value = (item.game * 7 + Math.floor(ctx.period.start / 86_400_000)) % 1000;
    await ctx.mysql.query(
      `INSERT INTO \`${ctx.names.schema('report')}\`.bench_daily (game_id, day, value) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`,
      [item.game, periodValue(ctx.period), value],
    );
    return value;
  },
});

export default defineJob({ name: 'scale', registerTask: [daily] });
