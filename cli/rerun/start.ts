/**
 * `gflow restart <job> -d <range>`: the original gflow's rerun. Validates everything,
 * starts one durable rerun workflow, follows it, and ends with a summary.
 */
import type { Command } from 'commander';
import { failure, usageError, UserError } from '../../core/errors';
import type { AnyTask } from '../../core/job';
import { badValue, parseWholeNumber } from '../../core/parse';
import type { Config } from '../../infra/config';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';
import type { RerunInput } from '../../workflows/rerun';
import { parseFilters, type FilterOptions } from './filters';
import { printRerunSummary } from './summary';
import { watchRerun } from './watch';

/** What every command that starts a rerun (restart -d, retry) accepts. */
export interface LaunchOptions {
  now?: boolean;
  parallel: string;
  detach?: boolean;
  json?: boolean;
  dryRun?: boolean;
  reason?: string;
  onCheckError?: string;
}

export interface RerunOptions extends FilterOptions, LaunchOptions {
  date: string;
  tasks?: string[];
  maxPeriods?: string;
}

/** `--on-check-error`: keep (report) or rollback. */
export function parseOnCheckError(value: string | undefined): 'keep' | 'rollback' | undefined {
  if (value === undefined || value === 'keep' || value === 'rollback') return value;
  throw badValue('--on-check-error', value, 'keep or rollback');
}

export async function rerunAction(command: Command, job: string, options: RerunOptions): Promise<void> {
  const { config, log } = cliContext(command);
  const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
  const tasks = options.tasks ? registry.tasks(job, options.tasks) : rerunnableTasks(registry.tasks(job), log.info);
  const filters = parseFilters(options);
  const parallelism = parseWholeNumber(options.parallel, '--parallel', { min: 1, max: 64 });
  const maxPeriods = options.maxPeriods ? parseWholeNumber(options.maxPeriods, '--max-periods', { min: 1, max: 100_000 }) : config.maxRerunPeriods;
  const onCheckError = parseOnCheckError(options.onCheckError);
  const startedBy = lazyImport('infra/who').startedBy(options.reason);
  const input = lazyImport('client/reruns').planRerun(config, { job, tasks, range: options.date, filters, parallelism, maxPeriods, startedBy, ...(onCheckError && { onCheckError }) });
  if (filters.games) await checkGamesExist(filters.games, config);
  await launchRerun(command, input, tasks, options);
}

/**
 * Start a planned rerun (or retry) and follow it to its summary; with
 * `--dry-run`, print its impact instead and start nothing.
 */
export async function launchRerun(command: Command, input: RerunInput, tasks: readonly AnyTask[], options: LaunchOptions): Promise<void> {
  const { config, log } = cliContext(command);
  if (options.dryRun) return printImpact(config, input, tasks, options.json);
  const { runningReruns, startRerun } = lazyImport('client/reruns');
  const { checkReadyToRun, withClient } = lazyImport('client/connect');
  const { temporalAddress } = lazyImport('infra/temporal');
  const job = input.job;
  await withClient(config, async (client) => {
    await checkReadyToRun(client, config, log);
    if (!options.now) await waitForSlot(() => runningReruns(client, config, job), log.info);
    const handle = await startRerun(client, config, input);
    const periods = lazyImport('workflows/rerun').planSteps(input.tasks).length;
    log.info(`${input.kind ?? 'rerun'} ${input.rerunId} started: ${periods} periods of ${input.tasks.map((t) => t.task).join(', ')} (Temporal ${temporalAddress(config)})`);
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

async function printImpact(config: Config, input: RerunInput, tasks: readonly AnyTask[], json: boolean | undefined): Promise<void> {
  const { Names } = lazyImport('core/names');
  const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
  const names = new Names(config.prefix);
  const games = (await lazyImport('store/games/registry').listEnabledGames(mysql, names)).length;
  const impact = await lazyImport('client/dry-run').rerunImpact(mysql, names, input, new Map(tasks.map((t) => [t.name, t])), games);
  if (json) return printJson(impact);
  printTable(
    ['task', 'periods', 'game-periods', 'from', 'to', 'rows backed up', 'being written now'],
    impact.tasks.map((t) => [
      t.task,
      t.periods,
      t.cells,
      t.first,
      t.last,
      Object.entries(t.rows).map(([table, n]) => `${table} ${n}`).join(', ') || '-',
      t.busy.map((b) => `${b.period} (${b.holder})`).join(', ') || '-',
    ]),
  );
  print();
  const estimate = impact.estimatedMs === undefined ? 'no estimate yet (no past ok run of every task)' : `about ${formatDuration(impact.estimatedMs)} from past run times`;
  print(`dry run of ${impact.kind} ${impact.rerunId}: nothing started; ${estimate}`);
}

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
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
