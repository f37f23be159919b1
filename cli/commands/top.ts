/**
 * `gflow top [job]`: per task, the schedule's state, the running run, the
 * last run's summary and failed games; then the live slaves.
 */
import { Command } from 'commander';
import { loadJobs } from '../../runtime/jobs';
import { StatusReader, type TaskStatus } from '../../runtime/status';
import { cliContext, print, printJson, printTable } from '../context';
import { withClient } from '../temporal';

export function topCommand(): Command {
  return new Command('top')
    .description('show running and last runs per task, failed games, and live slaves')
    .argument('[job]', 'only this job')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow top
  $ gflow top report --json`)
    .action(async function (this: Command, jobName: string | undefined, options: { json?: boolean }) {
      const { config } = cliContext(this);
      const registry = loadJobs(config.jobsDir);
      const jobs = jobName ? [registry.job(jobName)] : registry.list();
      const { tasks, slaves } = await withClient(config, async (client) => {
        const reader = new StatusReader(client, config);
        const tasks: TaskStatus[] = [];
        for (const job of jobs) for (const task of job.registerTask) tasks.push(await reader.task(job.name, task, { runs: true }));
        return { tasks, slaves: await reader.slaves() };
      });
      if (options.json) return printJson({ tasks, slaves });
      printTable(
        ['task', 'schedule', 'running', 'last run', 'items ok', 'failed'],
        tasks.map((t) => [
          `${t.job}.${t.task}`,
          t.schedule ? `${t.schedule.state}${t.schedule.nextRuns[0] ? ` → ${t.schedule.nextRuns[0]}` : ''}` : 'once',
          t.running.map((r) => r.period ?? r.id).join(', ') || '-',
          t.last ? `${t.last.summary?.period ?? t.last.id} ${t.last.status.toLowerCase()}` : '-',
          t.last?.summary ? `${t.last.summary.ok}/${t.last.summary.items}` : '-',
          t.last?.summary?.failed.map((f) => f.label).join(', ') || '-',
        ]),
      );
      const failures = tasks.flatMap((t) => (t.last?.summary?.failed ?? []).map((f) => ({ task: `${t.job}.${t.task}`, ...f })));
      if (failures.length > 0) {
        print();
        printTable(['task', 'item', 'error'], failures.map((f) => [f.task, f.label, f.error]));
      }
      print();
      if (slaves.length === 0) print('no live slaves (start one with gflow worker --slave <name>)');
      else printTable(['slave', 'queues', 'last contact'], slaves.map((s) => [s.identity, s.queues.join(', '), s.lastContact]));
    });
}
