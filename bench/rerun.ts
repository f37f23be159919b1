/**
 * Reruns: how their time grows with periods × games, and what the durable
 * backup → check → diff steps cost over a plain recompute of the same
 * periods (what a backfill that overwrites does). Real dev server (in
 * memory), two in-process slaves, real MySQL; the load average at start and
 * end. Own prefix (`bench_<random>`); keys, schemas and the server are
 * removed at the end.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { periodsOf } from '../core/range';
import { addGame, validateGame } from '../store/games/registry';
import { migrate } from '../store/schema/migrations';
import { planRerun, startRerun } from '../client/reruns';
import { createLogger } from '../infra/logger';
import { installSdkLogging } from '../worker/sdk-logging';
import { taskRun } from '../workflows/task-run';
import { benchStack } from './stack';
import { loadLine, median, standalone } from './support';

const SIZES: ReadonlyArray<[periods: number, games: number]> = [
  [4, 10],
  [8, 10],
  [16, 10],
  [8, 40],
  [16, 40],
];
const PARALLELISM = 4;
const RUNS = 3;


function range(periods: number): string {
  return `20260101,202601${String(periods).padStart(2, '0')}`;
}

export async function main(): Promise<void> {
  installSdkLogging(createLogger('bench'), 'ERROR');
  const stack = await benchStack({ name: 'rerun', temporal: 'memory', config: { jobsDir: resolve(__dirname, 'jobs') } });
  const { names, config, mysql: pool } = stack;
  try {
    await stack.startSlaves(['b1', 'b2'], { shutdownGraceSeconds: 1 });
    const client = await stack.client();
    await migrate(pool, names);
    await pool.query(`CREATE TABLE \`${names.schema('report')}\`.bench_daily (game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, value INT, PRIMARY KEY (game_id, day))`);
    for (let g = 1; g <= Math.max(...SIZES.map(([, games]) => games)); g++) await addGame(pool, names, validateGame({ id: g }));
    const task = (await import('./jobs/scale')).default.registerTask;

    const [[version]] = (await pool.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, node ${process.version}, MySQL ${version?.v}; Temporal dev server (in memory), 2 slaves in one process`);
    console.log(`${loadLine()} at start`);
    console.log(`median of ${RUNS} runs per size, after one warm-up rerun\n`);
    const warm = planRerun(config, { job: 'scale', tasks: task, range: range(2), filters: { games: [1] }, parallelism: PARALLELISM, maxPeriods: 400 });
    await (await startRerun(client, config, warm)).result();
    console.log('periods  games  rerun s  ms per period  ms per period×game  plain recompute s  rerun / plain');
    for (const [periods, games] of SIZES) {
      const filters = { games: Array.from({ length: games }, (_, i) => i + 1) };
      const reruns: number[] = [];
      const plains: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const input = planRerun(config, { job: 'scale', tasks: task, range: range(periods), filters, parallelism: PARALLELISM, maxPeriods: 400 });
        let t = Date.now();
        const result = await (await startRerun(client, config, input)).result();
        if (!result.ok) throw new Error(`bench rerun failed: ${JSON.stringify(result.periods.find((p) => p.error || p.gamesFailed.length))}`);
        reruns.push(Date.now() - t);
        // The same periods, same parallelism, recomputed with no backup, checks or diff.
        t = Date.now();
        const queue = periodsOf(input.tasks[0]!.range);
        const lane = async (): Promise<void> => {
          for (let period = queue.shift(); period; period = queue.shift()) {
            await client.workflow.execute(taskRun, {
              workflowId: `${input.rerunId}.plain.${period.key}`,
              taskQueue: names.sharedQueue,
              args: [{ job: 'scale', task: 'daily', period, prefix: config.prefix, filters }],
            });
          }
        };
        await Promise.all(Array.from({ length: PARALLELISM }, lane));
        plains.push(Date.now() - t);
      }
      const perPeriod = median(reruns) / periods;
      const perCell = median(reruns) / (periods * games);
      console.log(
        `${String(periods).padEnd(7)}  ${String(games).padEnd(5)}  ${(median(reruns) / 1000).toFixed(2).padEnd(7)}  ${perPeriod.toFixed(0).padEnd(13)}  ${perCell.toFixed(1).padEnd(18)}  ${(median(plains) / 1000).toFixed(2).padEnd(17)}  ${(median(reruns) / median(plains)).toFixed(2)}×`,
      );
    }
    console.log('\nTime grows at most linearly: "ms per period" stays flat as periods grow, and games add less than');
    console.log('proportionally (per-period steps dominate at these sizes). "rerun / plain" is what backup, checks and diff cost.');
    console.log(`${loadLine()} at end`);
  } finally {
    await stack.close();
  }
}

if (require.main === module) standalone(main);
