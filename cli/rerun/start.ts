/**
 * `gflow restart <job> -d <range>`: the seed's rerun. Validates everything,
 * starts one durable rerun workflow, follows it, and ends with a summary.
 */
import type { Command } from 'commander';
import { failure, usageError, UserError } from '../../core/errors';
import type { AnyTask } from '../../core/job';
import { parseWholeNumber } from '../../core/parse';
import type { Config } from '../../infra/config';
import { cliContext, lazyImport, print, printJson } from '../context';
import { parseFilters, type FilterOptions } from './filters';
import { printRerunSummary } from './summary';
import { watchRerun } from './watch';

export interface RerunOptions extends FilterOptions {
  date: string;
  tasks?: string[];
  now?: boolean;
  parallel: string;
  maxPeriods?: string;
  detach?: boolean;
  json?: boolean;
}

export async function rerunAction(command: Command, job: string, options: RerunOptions): Promise<void> {
  const { config, log } = cliContext(command);
  const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
  const tasks = options.tasks ? registry.tasks(job, options.tasks) : rerunnableTasks(registry.tasks(job), log.info);
  const filters = parseFilters(options);
  const parallelism = parseWholeNumber(options.parallel, '--parallel', { min: 1, max: 64 });
  const maxPeriods = options.maxPeriods ? parseWholeNumber(options.maxPeriods, '--max-periods', { min: 1, max: 100_000 }) : config.maxRerunPeriods;
  const { planRerun, runningReruns, startRerun } = lazyImport('client/reruns');
  const input = planRerun(config, { job, tasks, range: options.date, filters, parallelism, maxPeriods });
  if (filters.games) await checkGamesExist(filters.games, config);

  const { warnIfNoSlaves, withClient } = lazyImport('client/connect');
  const { temporalAddress } = lazyImport('infra/temporal');
  await withClient(config, async (client) => {
    await warnIfNoSlaves(client, config, log);
    if (!options.now) await waitForSlot(() => runningReruns(client, config, job), log.info);
    const handle = await startRerun(client, config, input);
    const periods = input.tasks.reduce((n, t) => n + t.range.count, 0);
    log.info(`rerun ${input.rerunId} started: ${periods} periods of ${input.tasks.map((t) => t.task).join(', ')} (Temporal ${temporalAddress(config)})`);
    if (options.detach) return print(input.rerunId);
    const outcome = await watchRerun(handle);
    if (outcome.kind === 'detached') {
      throw new UserError(
        `detached; rerun ${input.rerunId} goes on. Follow it: gflow reruns ${input.rerunId} --watch; cancel it: gflow reruns ${input.rerunId} --cancel`,
        { exitCode: 1 },
      );
    }
    if (options.json) printJson(outcome.result);
    else printRerunSummary(outcome.result);
    if (!outcome.result.ok) throw failure(`rerun ${input.rerunId} did not fully succeed (see the table above; gflow diff ${input.rerunId})`);
  });
}

/** Without -t, every task that can rerun; the others are named and skipped. */
function rerunnableTasks(tasks: readonly AnyTask[], say: (m: string) => void): AnyTask[] {
  const ok = tasks.filter((t) => t.schedule.kind === 'calendar' && t.enableReExecute !== false);
  const skipped = tasks.filter((t) => !ok.includes(t)).map((t) => t.name);
  if (skipped.length > 0) say(`not rerunnable, skipped: ${skipped.join(', ')}`);
  if (ok.length === 0) throw usageError(`no task of this job can be rerun (only calendar tasks that allow reruns); tasks: ${tasks.map((t) => t.name).join(', ')}`);
  return ok;
}

async function checkGamesExist(games: readonly number[], config: Config): Promise<void> {
  const { listGames } = lazyImport('store/games/registry');
  const { Names } = lazyImport('core/names');
  const known = new Set((await listGames(lazyImport('infra/mysql').getMysql(config.mysqlUrl), new Names(config.prefix))).map((g) => g.id));
  const unknown = games.filter((g) => !known.has(g));
  if (unknown.length > 0) throw usageError(`-g: game ${unknown.join(', ')} not in the games registry (see gflow games list)`);
}

async function waitForSlot(running: () => Promise<string[]>, say: (m: string) => void): Promise<void> {
  let told = false;
  for (;;) {
    const others = await running();
    if (others.length === 0) return;
    if (!told) say(`waiting for rerun ${others.join(', ')} to finish (--now starts at once)`);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
