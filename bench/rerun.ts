/**
 * Reruns: how their time grows with periods × games, and what the durable
 * backup → check → diff steps cost over a plain recompute of the same
 * periods (what a backfill that overwrites does). Real dev server, two
 * in-process slaves, real MySQL.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names, searchAttributes } from '../core/names';
import { periodsOf } from '../core/range';
import { addGame, validateGame } from '../store/games/registry';
import { LAYERS, migrate } from '../store/schema/migrations';
import { loadConfig, type Config } from '../infra/config';
import { closeMysql, getMysql } from '../infra/mysql';
import { closeRedis } from '../infra/redis';
import { planRerun, startRerun } from '../client/reruns';
import { createLogger } from '../infra/logger';
import { installSdkLogging } from '../worker/sdk-logging';
import { findTemporalCli } from '../dev/temporal-cli';
import { createSlave } from '../worker/slave';
import { taskRun } from '../workflows/task-run';
import { median } from './support';

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
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: findTemporalCli() }, searchAttributes: Object.values(searchAttributes), extraArgs: ['--log-level', 'error'] },
  });
  const base = loadConfig();
  const config: Config = { ...base, prefix: `bench${randomBytes(3).toString('hex')}`, jobsDir: resolve(__dirname, 'jobs'), temporalAddress: env.address };
  const names = new Names(config.prefix);
  const pool = getMysql(config.mysqlUrl);
  const slaves = await Promise.all(['b1', 'b2'].map((slave) => createSlave({ config, slave, shutdownGraceSeconds: 1 })));
  const running = slaves.map((s) => s.run());
  try {
    await migrate(pool, names);
    await pool.query(`CREATE TABLE \`${names.schema('report')}\`.bench_daily (game_id INT UNSIGNED NOT NULL, day DATE NOT NULL, value INT, PRIMARY KEY (game_id, day))`);
    for (let g = 1; g <= Math.max(...SIZES.map(([, games]) => games)); g++) await addGame(pool, names, validateGame({ id: g }));
    const task = (await import('./jobs/scale')).default.registerTask;

    const [[version]] = (await pool.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, node ${process.version}, MySQL ${version?.v}; Temporal dev server (in memory), 2 slaves in one process`);
    console.log(`median of ${RUNS} runs per size, after one warm-up rerun\n`);
    const warm = planRerun(config, { job: 'scale', tasks: task, range: range(2), filters: { games: [1] }, parallelism: PARALLELISM, maxPeriods: 400 });
    await (await startRerun(env.client, config, warm)).result();
    console.log('periods  games  rerun s  ms per period  ms per period×game  plain recompute s  rerun / plain');
    for (const [periods, games] of SIZES) {
      const filters = { games: Array.from({ length: games }, (_, i) => i + 1) };
      const reruns: number[] = [];
      const plains: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const input = planRerun(config, { job: 'scale', tasks: task, range: range(periods), filters, parallelism: PARALLELISM, maxPeriods: 400 });
        let t = Date.now();
        const result = await (await startRerun(env.client, config, input)).result();
        if (!result.ok) throw new Error(`bench rerun failed: ${JSON.stringify(result.periods.find((p) => p.error || p.gamesFailed.length))}`);
        reruns.push(Date.now() - t);
        // The same periods, same parallelism, recomputed with no backup, checks or diff.
        t = Date.now();
        const queue = periodsOf(input.tasks[0]!.range);
        const lane = async (): Promise<void> => {
          for (let period = queue.shift(); period; period = queue.shift()) {
            await env.client.workflow.execute(taskRun, {
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
  } finally {
    for (const s of slaves) s.shutdown();
    await Promise.all(running);
    for (const layer of LAYERS) await pool.query(`DROP DATABASE IF EXISTS \`${names.schema(layer)}\``);
    await closeMysql();
    await closeRedis();
    await env.teardown();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
