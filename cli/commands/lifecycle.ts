/**
 * `gflow start|stop|restart <job>`: the master's commands (seed: `master
 * start demo`). `-t` limits them to some tasks; `--now` fires at once.
 */
import { Command } from 'commander';
import { UserError } from '../../core/errors';
import { JobControl, type TaskAction } from '../../runtime/control';
import { loadJobs } from '../../runtime/jobs';
import { cliContext, listOption, printJson, printTable } from '../context';
import { withClient } from '../temporal';

interface LifecycleOptions {
  tasks?: string[];
  now?: boolean;
  json?: boolean;
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
  $ gflow restart report -t online --now`,
};

export function lifecycleCommand(verb: Verb): Command {
  const command = new Command(verb)
    .description(DESCRIPTIONS[verb])
    .argument('<job>', 'job name (see gflow jobs)')
    .option('-t, --tasks <names>', 'only these tasks (comma-separated)', listOption)
    .option('--json', 'print what was done as JSON')
    .addHelpText('after', EXAMPLES[verb]);
  if (verb !== 'stop') command.option('--now', 'also run the scheduled tasks at once (overlap policy SKIP)');
  return command.action(async function (this: Command, job: string, options: LifecycleOptions) {
    const { config } = cliContext(this);
    const tasks = loadJobs(config.jobsDir).tasks(job, options.tasks ?? []);
    const actions = await withClient(config, (client) => {
      const control = new JobControl(client, config);
      if (verb === 'stop') return control.stop(job, tasks);
      return control[verb](job, tasks, { now: options.now });
    });
    report(actions, options.json);
    const refused = actions.filter((a) => a.refused);
    if (refused.length > 0) {
      throw new UserError(`${refused.map((a) => `${job}.${a.task}`).join(', ')} already running: refused (gflow stop ${job} first)`, { exitCode: 1 });
    }
  });
}

function report(actions: readonly TaskAction[], json: boolean | undefined): void {
  if (json) return printJson(actions);
  printTable(['task', 'action', 'id'], actions.map((a) => [a.task, a.action, a.id]));
}
