/** `gflow jobs`: every job and task, its schedule in words, and (from Temporal) its state and next fire times. */
import { Command } from 'commander';
import type { TaskStatus } from '../../client/status';
import type { AnyTask } from '../../core/job';
import { describeSchedule } from '../../core/schedule';
import { describeParams } from '../../core/analysis';
import type { Config } from '../../infra/config';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';

export function jobsCommand(): Command {
  return new Command('jobs')
    .description('list jobs, their tasks, schedules and next fire times')
    .option('--json', 'print as JSON')
    .option('--offline', 'do not ask Temporal (schedules in words only)')
    .addHelpText('after', `
Examples:
  $ gflow jobs
  $ gflow jobs --json | jq '.[] | select(.schedule.state == "paused")'`)
    .action(async function (this: Command, options: { json?: boolean; offline?: boolean }) {
      const { config } = cliContext(this);
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const pairs = registry.list().flatMap((job) => job.registerTask.map((task) => ({ job: job.name, task })));
      const statuses: TaskStatus[] = options.offline
        ? pairs.map(({ job, task }) => ({ job, task: task.name, when: describeSchedule(task.schedule, config.tz), running: [] }))
        : await fromTemporal(config, pairs);
      if (options.json) return printJson(statuses);
      if (statuses.length === 0) return print(`no jobs in ${config.jobsDir}`);
      printTable(
        ['job', 'task', 'when', 'schedule', 'next run'],
        statuses.map((s) => [s.job, s.task, s.when, s.schedule?.state ?? (options.offline ? '' : 'once'), s.schedule?.nextRuns[0] ?? '']),
      );
      const analyses = registry.list().flatMap((job) => (job.analyses ?? []).map((a) => [`${job.name}.${a.name}`, describeParams(a), a.description ?? '']));
      if (analyses.length === 0) return;
      print();
      printTable(['analysis (gflow ask)', 'params (? optional)', 'what'], analyses);
    });
}

async function fromTemporal(config: Config, pairs: ReadonlyArray<{ job: string; task: AnyTask }>): Promise<TaskStatus[]> {
  const { withClient } = lazyImport('client/connect');
  const { StatusReader } = lazyImport('client/status');
  return withClient(config, async (client) => {
    const reader = new StatusReader(client, config);
    return Promise.all(pairs.map(({ job, task }) => reader.task(job, task)));
  });
}
