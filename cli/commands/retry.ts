/**
 * `gflow retry <job> --failed|--missing`: rerun exactly the cells that need
 * it (game × period × task), as one rerun recorded as a retry, with backup,
 * checks and diff like any rerun: the original gflow's "redo only the failed
 * games" in one command.
 */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import { parseWholeNumber } from '../../core/parse';
import { cliContext, lazyImport, listOption, print } from '../context';
import { parseFilters } from '../rerun/filters';
import { launchRerun, parseOnCheckError, type LaunchOptions } from '../rerun/start';

interface RetryOptions extends LaunchOptions {
  tasks?: string[];
  date?: string;
  games?: string[];
  failed?: boolean;
  missing?: boolean;
}

export function retryCommand(): Command {
  return new Command('retry')
    .description('rerun exactly the failed (or missing) games × periods of a job, as one retry')
    .argument('<job>', 'job name (see gflow jobs)')
    .option('-t, --tasks <names>', 'only these tasks (comma-separated)', listOption('-t'))
    .option('-d, --date <range>', 'periods to look at: one, or first,last (default: the latest ones)')
    .option('-g, --games <ids>', 'only these games (comma-separated)', listOption('-g'))
    .option('--failed', 'the cells that failed (or whose checks failed): the default')
    .option('--missing', 'the closed periods no run covered since the task was started')
    .option('--parallel <n>', 'periods recomputed at once', '4')
    .option('--dry-run', 'start nothing: print the cells, the rows each table would back up and overwrite, and an estimated duration')
    .option('--on-check-error <what>', 'a period whose error-level checks fail: keep (report) or rollback')
    .option('--reason <text>', 'why: recorded in the ledger with your user and host')
    .option('--now', 'do not wait for a running rerun of the job')
    .option('--detach', 'print the retry id and return at once')
    .option('--json', 'print the summary (or the dry run) as JSON')
    .addHelpText('after', `
Examples:
  $ gflow status report --failed                 what failed, and why
  $ gflow retry report --failed --dry-run        what a retry would touch
  $ gflow retry report --failed                  rerun exactly those cells
  $ gflow retry report --missing -t active       fill the periods no run covered`)
    .action(async function (this: Command, job: string, options: RetryOptions) {
      if (options.failed && options.missing) throw usageError('--failed and --missing choose different cells: give one');
      const which = options.missing ? 'missing' : 'failed';
      const { config } = cliContext(this);
      const filters = parseFilters({ ...(options.games && { games: options.games }) });
      const parallelism = parseWholeNumber(options.parallel, '--parallel', { min: 1, max: 64 });
      const onCheckError = parseOnCheckError(options.onCheckError);
      const startedBy = lazyImport('infra/who').startedBy(options.reason);
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const tasks = registry.tasks(job, options.tasks ?? []).filter((t) => options.tasks || (t.schedule.kind === 'calendar' && t.enableReExecute !== false));
      const { scheduleCreated, taskMatrix } = lazyImport('client/matrix');
      const { cellsToRetry, periodsWithGames } = lazyImport('core/matrix');
      const names = new (lazyImport('core/names').Names)(config.prefix);
      const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
      const chosen = await lazyImport('client/connect').withClient(config, async (client) => {
        const out = [];
        for (const task of tasks) {
          const created = await scheduleCreated(client, names, job, task.name);
          const m = await taskMatrix(mysql, names, { job, task, zone: config.tz, maxPeriods: config.maxRerunPeriods, ...(options.date && { range: options.date }), ...(filters.games && { games: filters.games }) }, created);
          out.push({ task, cells: periodsWithGames(cellsToRetry(m.cells, which)) });
        }
        return out;
      });
      // Nothing failed (or is missing) is the good case, not bad input: a nightly `retry --failed` exits 0.
      if (chosen.every((c) => c.cells.length === 0)) return print(`nothing to retry in ${job}: no cell is ${which} (gflow status ${job} shows them all)`);
      const input = lazyImport('client/reruns').planRetry(config, { job, tasks: chosen, parallelism, startedBy, ...(onCheckError && { onCheckError }) });
      await launchRerun(this, input, tasks, options);
    });
}
