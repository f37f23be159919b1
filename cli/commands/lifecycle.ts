/**
 * `gflow start|stop|restart <job>`: the master's commands (the original gflow: `master
 * start demo`). `-t` limits them to some tasks; `--now` fires at once.
 */
import { Command } from 'commander';
import { usageError, UserError } from '../../core/errors';
import type { TaskAction } from '../../client/control';
import { cliContext, lazyImport, listOption, printJson, printTable } from '../context';
import { rerunAction, type RerunOptions } from '../rerun/start';

interface LifecycleOptions {
  tasks?: string[];
  now?: boolean;
  json?: boolean;
  reason?: string;
}

type Verb = 'start' | 'stop' | 'restart';

const DESCRIPTIONS: Record<Verb, string> = {
  start: "create or unpause the job's schedules and start its once-tasks",
  stop: "pause the job's schedules and cancel its running runs",
  restart: 'stop, then start',
};

const EXAMPLES: Record<Verb, string> = {
  start: `
Examples:
  $ gflow start demo                 start every task of the demo job
  $ gflow start report -t active     only the task "active"
  $ gflow start report --now         and fire each schedule at once`,
  stop: `
Examples:
  $ gflow stop demo
  $ gflow stop report -t active,retention`,
  restart: `
Examples:
  $ gflow restart report             pause, cancel running runs, unpause
  $ gflow restart report -t online --now
  $ gflow restart report -d 20150420,20150421          rerun two days (the original gflow's rerun)
  $ gflow restart myjob -d 201504,201505 -t monthly    by month (a task with atExecute m...)
  $ gflow restart myjob -d 2015010,2015020             by ISO week (a trailing 0 tells a week from a month)
  $ gflow restart report -d 20150420 -t active -g 3,7 --now
  $ gflow restart report -d 20261101,20261130 --dry-run      what it would touch, nothing started
  $ gflow restart report -d 20261101 --on-check-error rollback --reason "fix #42"

A rerun backs up the rows each task owns, recomputes, checks and diffs them;
see gflow reruns, gflow diff <rerun>, gflow restore <rerun>.`,
};

export function lifecycleCommand(verb: Verb): Command {
  const command = new Command(verb)
    .description(DESCRIPTIONS[verb])
    .argument('<job>', 'job name (see gflow jobs)')
    .option('-t, --tasks <names>', 'only these tasks (comma-separated)', listOption('-t'))
    .option('--json', 'print what was done as JSON')
    .option('--reason <text>', 'why: recorded in the ledger with your user and host')
    .addHelpText('after', EXAMPLES[verb]);
  if (verb === 'start') command.option('--now', 'also fire the schedules at once (overlap SKIP)');
  if (verb === 'restart') command.option('--now', 'also fire the schedules at once (overlap SKIP); with -d: do not wait for a running rerun of the job');
  if (verb === 'restart') addRerunOptions(command);
  return command.action(async function (this: Command, job: string, options: LifecycleOptions & Partial<RerunOptions>) {
    if (options.date !== undefined) return rerunAction(this, job, options as RerunOptions);
    if (options.games || options.servers || options.channel) throw usageError('-g, -s and -c filter a rerun: use them with -d <range>');
    const { config, log } = cliContext(this);
    const by = lazyImport('infra/who').startedBy(options.reason);
    const tasks = lazyImport('infra/jobs').loadJobs(config.jobsDir).tasks(job, options.tasks ?? []);
    const { checkReadyToRun, withClient } = lazyImport('client/connect');
    const { JobControl } = lazyImport('client/control');
    const actions = await withClient(config, async (client) => {
      if (verb !== 'stop') await checkReadyToRun(client, config, log);
      const control = new JobControl(client, config);
      if (verb === 'stop') return control.stop(job, tasks);
      return control[verb](job, tasks, { now: options.now, by });
    });
    report(actions, options.json);
    const refused = actions.filter((a) => a.refused);
    if (refused.length > 0) {
      throw new UserError(`${refused.map((a) => `${job}.${a.task}`).join(', ')} already running: refused (gflow stop ${job} first)`, { exitCode: 1 });
    }
  });
}

function addRerunOptions(command: Command): void {
  command
    .option('-d, --date <range>', 'rerun past periods: YYYYMMDD, YYYYMM, YYYYWW0, YYYYMMDDHH or YYYYMMDDHHMM, one or first,last')
    .option('-g, --games <ids>', 'rerun only these games (comma-separated)', listOption('-g'))
    .option('-s, --servers <from,to>', 'rerun: server-id range, for tasks that go by server')
    .option('-c, --channel <id>', 'rerun: channel, for tasks that go by channel')
    .option('--parallel <n>', 'rerun: periods recomputed at once', '4')
    .option('--max-periods <n>', 'rerun: refuse ranges longer than this (default: config maxRerunPeriods, 400)')
    .option('--detach', 'rerun: print the rerun id and return at once')
    .option('--dry-run', 'rerun: start nothing; print tasks × periods × games, the rows each table would back up and overwrite, periods being written now, and an estimated duration')
    .option('--on-check-error <what>', "rerun: a period whose error-level checks fail: keep (report; the default) or rollback (restore its backup at once)");
}

function report(actions: readonly TaskAction[], json: boolean | undefined): void {
  if (json) return printJson(actions);
  printTable(['task', 'action', 'id'], actions.map((a) => [a.task, a.action, a.id]));
}
