/**
 * The original gflow's `demo` job with its `oneTask`, ported: a once-task whose
 * items are the enabled games (`assignTask()`), each printing "complete".
 * Start it with `gflow start demo`; `gflow dev` runs it on the embedded default.
 */
import { defineJob, defineTask } from 'gflow';

const oneTask = defineTask({
  name: 'oneTask',
  // Run once when started; for a schedule use `atExecute: 'w1d2'` (Mondays 02:00) or `sleepExecute: 3600`.
  breakExecute: true,
  mapTask: (ctx) => ctx.assignTask(),
  async execute(myTask, ctx) {
    ctx.log.info('complete', { game: myTask.game });
    return { game: myTask.game, status: 'complete', curTime: ctx.curTime() };
  },
  afterExecute(resultSets, ctx) {
    const done = resultSets.filter((r) => r.ok).length;
    ctx.log.info(`${done} of ${resultSets.length} games complete`);
    return { done, total: resultSets.length };
  },
});

export default defineJob({
  name: 'demo',
  description: "The original gflow's demo: one task, one item per game",
  registerTask: [oneTask],
});
