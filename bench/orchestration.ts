/**
 * Orchestration overhead benchmark (issue 5): one run of `report.active`
 * over 1,000 game items through Temporal — a dev server this benchmark
 * starts, two slaves, the `taskRun` workflow exactly as a schedule starts it
 * — against the same `execute` calls made directly in one process with the
 * same bounded concurrency. Both do the same real work per game (four Redis
 * scripts, one upsert, one publish); the difference is what Temporal costs.
 *
 * Run: `npm run bench orchestration [-- --games N --runs N --concurrency N]`.
 * Prints the load average at start and end. Own prefix (`bench_<random>`),
 * own dev server on free ports (bench/stack.ts); keys, schemas and the
 * server's files are removed at the end.
 */
import { resolve } from 'node:path';
import type { RunSummary } from '../activities/types';
import type { TaskContext } from '../core/job';
import { parsePeriodKey } from '../core/period';
import { ActivityStore } from '../store/activity/store';
import { LocalDays, validateEvent, type PlayerEvent } from '../store/activity/events';
import { addGame, validateGame } from '../store/games/registry';
import { gameResolver } from '../store/games/directory';
import { migrate } from '../store/schema/migrations';
import { loadJobs } from '../infra/jobs';
import { mapBounded } from '../workflows/pool';
import { taskRun } from '../workflows/task-run';
import { benchStack } from './stack';
import { loadLine, machineLines, median, option, standalone } from './support';

const DAY = '20261110';

/** 20 players a game on day D: 5 new, 3 online, one payer: each item has real counting to do. */
function events(games: number): PlayerEvent[] {
  const days = new LocalDays();
  const out: PlayerEvent[] = [];
  const ts = Date.UTC(2026, 10, 10, 12) / 1000;
  for (let game = 1; game <= games; game++) {
    for (let u = 0; u < 20; u++) {
      const raw = [{ game, user: `u${u}`, type: u < 5 ? 'register' : 'login', ts }];
      if (u < 3) raw.push({ game, user: `u${u}`, type: 'online', ts });
      for (const value of raw) {
        const parsed = validateEvent(value, () => 'UTC', days);
        if (parsed.ok) out.push(parsed.event);
      }
    }
  }
  return out;
}


export async function main(argv: readonly string[]): Promise<void> {
  const games = option(argv, '--games', 1000);
  const runs = option(argv, '--runs', 3);
  const concurrency = option(argv, '--concurrency', 20);
  const stack = await benchStack({ name: 'orchestration', config: { jobsDir: resolve(__dirname, '../jobs'), concurrency } });
  const { names, config, redis, mysql } = stack;
  try {
    for (const line of await machineLines(redis, mysql)) process.stdout.write(`${line}\n`);
    process.stdout.write(`${loadLine()} at start\n`);
    process.stdout.write(`temporal dev server ${config.temporalAddress}; report.active over ${games} games, ${concurrency} items at once; medians of ${runs} runs after a warm-up\n`);
    await migrate(mysql, names, { jobs: loadJobs(config.jobsDir).list() });
    for (let id = 1; id <= games; id++) await addGame(mysql, names, validateGame({ id }));
    await new ActivityStore(redis, names).write(events(games));

    const registry = loadJobs(config.jobsDir);
    const task = registry.task('report', 'active');
    const period = parsePeriodKey('day', DAY, config.tz);
    const items = Array.from({ length: games }, (_, i) => ({ game: i + 1 }));
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const ctx: TaskContext = {
      job: 'report',
      task: 'active',
      period,
      curTime: () => Math.floor(period.start / 1000),
      redis,
      mysql,
      names,
      game: gameResolver({ redis, mysql, names, zone: period.zone }),
      log: quiet,
      heartbeat: () => undefined,
      signal: new AbortController().signal,
      filters: {},
      ask: () => Promise.reject(new Error('report.active asks no analysis')),
    };
    const direct = async () => {
      const t0 = performance.now();
      await mapBounded(items, concurrency, async (item) => task.execute(item, ctx));
      return performance.now() - t0;
    };

    const slaves = await stack.startSlaves(['b1', 'b2']);
    const client = await stack.client();
    const viaTemporal = async (run: number) => {
      const t0 = performance.now();
      const summary: RunSummary = await client.workflow.execute(taskRun, {
        taskQueue: names.sharedQueue,
        workflowId: `${names.runId('report', 'active', DAY)}.bench-${run}`,
        args: [{ job: 'report', task: 'active', period, prefix: names.prefix, filters: {} }],
      });
      if (summary.ok !== games) throw new Error(`bench: ${summary.ok} of ${games} items ok: ${JSON.stringify(summary.failed.slice(0, 3))}`);
      return performance.now() - t0;
    };
    const temporalMs: number[] = [];
    const directMs: number[] = [];
    try {
      await viaTemporal(0);
      await direct();
      for (let run = 1; run <= runs; run++) {
        temporalMs.push(await viaTemporal(run));
        directMs.push(await direct());
      }
    } finally {
      await slaves.stop();
    }
    const [t, d] = [median(temporalMs), median(directMs)];
    const row = (what: string, ms: number) => `  ${what.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${(ms / games).toFixed(2).padStart(6)} ms/item`;
    process.stdout.write(`${row('through Temporal (2 slaves)', t)}\n${row('direct calls (one process)', d)}\n`);
    process.stdout.write(`  orchestration overhead ${((t - d) / games).toFixed(2)} ms per item; Temporal / direct ${(t / d).toFixed(1)}×\n`);
    process.stdout.write(`  runs (s): Temporal ${temporalMs.map((x) => (x / 1000).toFixed(2)).join(', ')}; direct ${directMs.map((x) => (x / 1000).toFixed(2)).join(', ')}\n`);
    process.stdout.write(`${loadLine()} at end\n`);
  } finally {
    await stack.close();
  }
}

if (require.main === module) standalone(main);
