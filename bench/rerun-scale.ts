/**
 * Reruns at scale (issue 14): a year of days × 500 games with a cheap
 * `execute` (bench/jobs/cheap.ts: no I/O, so what it costs is orchestration),
 * then 30 days × 100 games of the real `report` job (its four daily tasks
 * over synthetic player events), each as one `gflow restart`-style rerun on
 * a Temporal dev server this benchmark starts (file-backed, as `gflow dev`),
 * two slaves in this process, real Redis and MySQL. Beside them, measured in
 * the same run on the same server: a bare no-op activity (bench/bare-workflow.ts),
 * the floor of what one activity per game-period would cost; the figures
 * are per game-period against it. Also one period × 5,000 games (the
 * history and the largest payload of such a run), and with `--sweep` the
 * cheap rerun over fewer days at other batch sizes, one activity per item
 * (`b1`, as before batches) among them.
 *
 * Run: `npm run bench -- rerun-scale [--days 366 --games 500 --parallel 4
 * --wide 5000 --report-days 30 --report-games 100 --report-users 20000
 * --bare 2000 --sweep --sweep-days 30 --wide-per-item --skip scale,wide,report]`.
 * Own prefix (`bench_<random>`), own dev server on free ports; keys, schemas
 * and the server's files are removed at the end.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { DEFAULT_BATCH_SIZE } from '../activities/run';
import type { RunSummary } from '../activities/types';
import { planRerun, startRerun } from '../client/reruns';
import { addDays, dayKeyOf } from '../core/day';
import type { RunFilters } from '../core/job';
import { searchAttributes } from '../core/names';
import { parsePeriodKey } from '../core/period';
import { synthEvents } from '../dev/synth';
import type { Config } from '../infra/config';
import { loadJobs } from '../infra/jobs';
import { createLogger } from '../infra/logger';
import { connectWorker } from '../infra/temporal';
import { LocalDays, validateEvent, type PlayerEvent } from '../store/activity/events';
import { ActivityStore } from '../store/activity/store';
import { addGame, validateGame } from '../store/games/registry';
import { migrate } from '../store/schema/migrations';
import { installSdkLogging } from '../worker/sdk-logging';
import type { RerunResult } from '../workflows/rerun';
import { taskRun } from '../workflows/task-run';
import type { bareActivities } from './bare-workflow';
import { SWEEP_SIZES } from './jobs/cheap';
import { benchStack, type BenchSlaves } from './stack';
import { loadAverage, loadLine, machineLines, option, standalone } from './support';

/** 2024 is a leap year: 366 days from here are one calendar year. */
const FIRST_DAY = '20240101';
const REPORT_TASKS = ['active', 'retention', 'online', 'pay'];
const SLAVES = ['b1', 'b2'];

interface Measured<T> {
  readonly value: T;
  readonly ms: number;
  /** The 1-minute load average sampled every 2 s meanwhile, and the CPU this process (slaves, client) used, in cores. */
  readonly load: { readonly mean: number; readonly max: number; readonly cores: number };
}

/** Run `fn`, timing it and sampling the machine's load meanwhile. */
async function measured<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const samples = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), 2000);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    samples.push(loadavg()[0]!);
    return {
      value,
      ms,
      load: { mean: samples.reduce((a, b) => a + b, 0) / samples.length, max: Math.max(...samples), cores: (used.user + used.system) / 1000 / ms },
    };
  } finally {
    clearInterval(timer);
  }
}

const loadText = (m: Measured<unknown>) => `load ${m.load.mean.toFixed(1)} mean, ${m.load.max.toFixed(1)} max; this process ${m.load.cores.toFixed(2)} cores`;

/** The biggest history among the workflows `query` finds (a rerun: its runs and every period's run). */
async function largestHistory(client: Client, query: string): Promise<{ workflows: number; events: number; bytes: number; id: string }> {
  let largest = { workflows: 0, events: 0, bytes: 0, id: '-' };
  for await (const wf of client.workflow.list({ query })) {
    largest.workflows++;
    if (wf.historyLength > largest.events) largest = { ...largest, events: wf.historyLength, bytes: wf.historySize ?? 0, id: wf.workflowId };
  }
  return largest;
}

/** The history's largest event, as encoded (the input or result it carries): what nears Temporal's 2 MB payload limit first. */
async function largestEvent(client: Client, workflowId: string): Promise<{ bytes: number; what: string; total: number; events: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  let largest = { bytes: 0, what: '-', total: 0, events: 0 };
  for (const event of history.events ?? []) {
    const bytes = temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
    largest = { ...largest, total: largest.total + bytes, events: largest.events + 1 };
    if (bytes > largest.bytes) {
      const type = temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType);
      const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
      largest = { ...largest, bytes, what: `${type.replace(/^EVENT_TYPE_/, '').toLowerCase()}${activity ? ` (${activity})` : ''}` };
    }
  }
  return largest;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function main(argv: readonly string[]): Promise<void> {
  const days = option(argv, '--days', 366);
  const games = option(argv, '--games', 500);
  const parallelism = option(argv, '--parallel', 4);
  const wide = option(argv, '--wide', 5000);
  const reportDays = option(argv, '--report-days', 30);
  const reportGames = option(argv, '--report-games', 100);
  const reportUsers = option(argv, '--report-users', 20_000);
  const bareCount = option(argv, '--bare', 2000);
  const sweepDays = argv.includes('--sweep') ? option(argv, '--sweep-days', 30) : 0;
  const skipAt = argv.indexOf('--skip');
  const skip = new Set(skipAt >= 0 ? (argv[skipAt + 1] ?? '').split(',') : []);
  if (reportGames > 100) throw new Error('--report-games: the synthetic studio has at most 100 games');
  // Expected failures would log a line per attempt; the figures are what this prints.
  installSdkLogging(createLogger('bench'), 'ERROR');

  const stack = await benchStack({ name: 'rerun-scale', config: { maxRerunPeriods: 400 } });
  const { names, config: base, redis, mysql } = stack;
  const cheapConfig: Config = { ...base, jobsDir: resolve(__dirname, 'jobs') };
  const reportConfig: Config = { ...base, jobsDir: resolve(__dirname, '../jobs') };
  // The cheap job's slaves, then the report job's: one pair at a time (the stack stops any left at the end).
  let slaves: BenchSlaves | undefined;
  const startSlaves = async (config: Config) => {
    slaves = await stack.startSlaves(SLAVES, { config });
  };
  const stopSlavesNow = async () => {
    await slaves?.stop();
    slaves = undefined;
  };
  try {
    for (const line of await machineLines(redis, mysql)) process.stdout.write(`${line}\n`);
    const concurrency = base.concurrency;
    process.stdout.write(
      `${loadLine()} at start; temporal dev server ${base.temporalAddress} (file-backed), ` +
        `slaves ${SLAVES.join(', ')} in this process; reruns ${parallelism} periods at once, ${concurrency} items at once per period\n`,
    );
    await migrate(mysql, names, { jobs: [...loadJobs(cheapConfig.jobsDir).list(), ...loadJobs(reportConfig.jobsDir).list()] });
    for (let id = 1; id <= Math.max(games, reportGames); id++) await addGame(mysql, names, validateGame({ id }));
    const c: Client = await stack.client();

    // The yardstick: bare no-op activities on their own queue, one at a time and as many at once as a rerun runs items.
    const bareQueue = `${names.prefix}.bare`;
    const connection = await connectWorker(base);
    // An open connection would keep the process alive after the figures.
    stack.onClose('bare worker connection', () => connection.close());
    const worker = await Worker.create({
      connection,
      namespace: base.temporalNamespace,
      taskQueue: bareQueue,
      workflowsPath: require.resolve('./bare-workflow'),
      activities: { noop: async () => undefined },
    });
    const bareRunning = worker.run();
    stack.onClose('bare worker', async () => {
      worker.shutdown();
      await bareRunning;
    });
    let bareRun = 0;
    const bare = async (count: number, lanes: number) => {
      const m = await measured(() => c.workflow.execute<typeof bareActivities>('bareActivities', { taskQueue: bareQueue, workflowId: `${names.prefix}.bare.${bareRun++}`, args: [count, lanes] }));
      return m.ms / count;
    };
    await bare(100, 10);
    const bareOne = await bare(Math.min(bareCount, 300), 1);
    const bareLanes = parallelism * concurrency;
    const bareBefore = await bare(bareCount, bareLanes);
    process.stdout.write(`bare no-op activity: ${bareOne.toFixed(2)} ms one at a time; ${bareBefore.toFixed(2)} ms each with ${bareLanes} at once (as many as a rerun runs items)\n`);

    await startSlaves(cheapConfig);
    const cheapTasks = loadJobs(cheapConfig.jobsDir).job('cheap');
    const rerunCheap = async (task: string, periods: number, filters: RunFilters = {}): Promise<Measured<RerunResult>> => {
      const input = planRerun(cheapConfig, {
        job: 'cheap',
        tasks: [cheapTasks.task(task)!],
        range: `${FIRST_DAY},${addDays(FIRST_DAY, periods - 1)}`,
        filters,
        parallelism,
        maxPeriods: 400,
      });
      const m = await measured(async () => (await startRerun(c, cheapConfig, input)).result());
      if (!m.value.ok) throw new Error(`bench rerun failed: ${JSON.stringify(m.value.periods.find((p) => p.error || p.gamesFailed.length))}`);
      return m;
    };
    // Warm-up: workflow bundle, pools, caches.
    await rerunCheap('daily', 2, { games: [1, 2, 3] });

    if (sweepDays > 0) {
      process.stdout.write(`\nbatch sizes: cheap execute, ${sweepDays} days × ${games} games\n`);
      // A run cuts its items into at least `concurrency` batches (workflows/task-run.ts unitsOf): the size it used.
      const used = (size: number) => (Math.min(size, Math.floor(games / concurrency)) < 2 ? 1 : Math.min(size, Math.floor(games / concurrency)));
      process.stdout.write('batch size (used)  rerun s  ms per game-period  bare activity / game-period  load\n');
      for (const [task, size] of [['daily', DEFAULT_BATCH_SIZE] as const, ...SWEEP_SIZES.map((s) => [`b${s}`, s] as const)]) {
        const m = await rerunCheap(task, sweepDays);
        const per = m.ms / (sweepDays * games);
        const label = `${size}${task === 'daily' ? ' default' : ''} (${used(size)})`;
        process.stdout.write(`${label.padEnd(17)}  ${(m.ms / 1000).toFixed(1).padEnd(7)}  ${per.toFixed(3).padEnd(18)}  ${(bareBefore / per).toFixed(1).padEnd(27)}  ${loadText(m)}\n`);
      }
    }

    const rows: string[] = [];
    if (!skip.has('scale')) {
      const m = await rerunCheap('daily', days);
      const cells = days * games;
      const per = m.ms / cells;
      const history = await largestHistory(c, `${searchAttributes.rerun.name} = '${m.value.rerunId}'`);
      const bareAfter = await bare(bareCount, bareLanes);
      rows.push(
        `\nrerun-scale: ${days} days × ${games} games (${cells.toLocaleString('en')} game-periods), cheap execute, default batch size`,
        `  ${seconds(m.ms)}; ${per.toFixed(3)} ms per game-period; a bare activity costs ${bareBefore.toFixed(2)} ms before, ${bareAfter.toFixed(2)} ms after: ${(bareBefore / per).toFixed(1)}× the game-period`,
        `  one activity per game-period would take at least ${seconds(cells * Math.min(bareBefore, bareAfter))} at that rate (the floor of the old design); ${loadText(m)}`,
        `  largest history: ${history.events} events, ${kb(history.bytes)} (${history.id}; ${history.workflows} workflows)`,
      );
    }

    if (!skip.has('wide')) {
      for (let id = Math.max(games, reportGames) + 1; id <= wide; id++) await addGame(mysql, names, validateGame({ id }));
      const period = parsePeriodKey('day', FIRST_DAY, base.tz);
      // `--wide-per-item`: the same period again with one activity per item (`b1`), as before batches.
      for (const task of argv.includes('--wide-per-item') ? ['daily', 'b1'] : ['daily']) {
        const workflowId = `${names.runId('cheap', task, FIRST_DAY)}.wide`;
        const m = await measured(
          async () => (await c.workflow.execute(taskRun, { taskQueue: names.sharedQueue, workflowId, args: [{ job: 'cheap', task, period, prefix: names.prefix }] })) as RunSummary,
        );
        if (m.value.ok !== wide) throw new Error(`bench: ${m.value.ok} of ${wide} items ok`);
        const event = await largestEvent(c, workflowId);
        rows.push(
          `\none period × ${wide} games (one run, cheap execute${task === 'b1' ? ', one activity per item' : ''}): ${seconds(m.ms)}, ${(m.ms / wide).toFixed(3)} ms per game; history ${event.events} events, ${kb(event.total)}`,
          `  largest event ${kb(event.bytes)}: ${event.what}; the run's summary ${kb(JSON.stringify(m.value).length)} (limits: 51,200 events, 50 MB a history, 2 MB a payload)`,
        );
      }
    }

    if (!skip.has('report')) {
      await stopSlavesNow();
      // The report job reads Redis: its days end the day before yesterday, as a studio reruns recent weeks (days
      // older than activity.ttlDays would be refused as expired wherever a small game had nobody).
      const reportFirst = addDays(dayKeyOf(Date.now(), base.tz), -(reportDays + 1));
      const synth = { games: reportGames, days: reportDays, users: reportUsers, firstDay: reportFirst, zone: base.tz, seed: 'rerun-scale' };
      const store = new ActivityStore(redis, names);
      const local = new LocalDays();
      let batch: PlayerEvent[] = [];
      let events = 0;
      const w = await measured(async () => {
        for (const raw of synthEvents(synth)) {
          const parsed = validateEvent(raw, () => base.tz, local);
          if (!parsed.ok) throw new Error(`synthetic event refused: ${parsed.reason}`);
          batch.push(parsed.event);
          if (batch.length >= 5000) {
            await store.write(batch);
            events += batch.length;
            batch = [];
          }
        }
        await store.write(batch);
        events += batch.length;
      });
      await startSlaves(reportConfig);
      const registry = loadJobs(reportConfig.jobsDir);
      const input = planRerun(reportConfig, {
        job: 'report',
        tasks: registry.tasks('report', REPORT_TASKS),
        range: `${reportFirst},${addDays(reportFirst, reportDays - 1)}`,
        filters: { games: Array.from({ length: reportGames }, (_, i) => i + 1) },
        parallelism,
        maxPeriods: 400,
      });
      // Warm-up of the report job's code and caches: one day, one game.
      const warm = planRerun(reportConfig, { job: 'report', tasks: registry.tasks('report', REPORT_TASKS), range: reportFirst, filters: { games: [1] }, parallelism, maxPeriods: 400 });
      await (await startRerun(c, reportConfig, warm)).result();
      const m = await measured(async () => (await startRerun(c, reportConfig, input)).result());
      if (!m.value.ok) throw new Error(`bench report rerun failed: ${JSON.stringify(m.value.periods.find((p) => p.error || p.gamesFailed.length || p.checkErrors))}`);
      const cells = REPORT_TASKS.length * reportDays * reportGames;
      const per = m.ms / cells;
      const history = await largestHistory(c, `${searchAttributes.rerun.name} = '${m.value.rerunId}'`);
      rows.push(
        `\nreport job: ${reportDays} days × ${reportGames} games × ${REPORT_TASKS.length} tasks (${cells.toLocaleString('en')} game-task-periods; ${events.toLocaleString('en')} synthetic events written in ${seconds(w.ms)})`,
        `  ${seconds(m.ms)}; ${per.toFixed(3)} ms per game-task-period, real work included; a bare activity ${bareBefore.toFixed(2)} ms: ${(bareBefore / per).toFixed(1)}× it; ${loadText(m)}`,
        `  largest history: ${history.events} events, ${kb(history.bytes)} (${history.id}; ${history.workflows} workflows)`,
      );
    }
    process.stdout.write(`${rows.join('\n')}\nload average ${loadAverage()} at the end\n`);
  } finally {
    await stack.close();
  }
}

if (require.main === module) standalone(main);
