/**
 * `gflow top [job]`: per task, the schedule's state, the running run, the
 * last run's summary and failed games; then the live slaves with the code
 * version each runs, flagging any out of step.
 */
import { Command } from 'commander';
import { computeBuildId } from '../../worker/build-id';
import { loadJobs } from '../../infra/jobs';
import { StatusReader, type TaskStatus } from '../../client/status';
import { cliContext, print, printJson, printTable } from '../context';
import { withClient } from '../../client/connect';

export function topCommand(): Command {
  return new Command('top')
    .description('show running and last runs per task, failed games, and live slaves')
    .argument('[job]', 'only this job')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow top                 every job's tasks, then the live slaves and their code versions
  $ gflow top report --json   one job, machine-readable

A slave whose code differs from this checkout (or from the other slaves) is
marked "!" and named in a warning: redeploy it.`)
    .action(async function (this: Command, jobName: string | undefined, options: { json?: boolean }) {
      const { config } = cliContext(this);
      const registry = loadJobs(config.jobsDir);
      const jobs = jobName ? [registry.job(jobName)] : registry.list();
      const buildId = computeBuildId(config.jobsDir);
      const { tasks, slaves } = await withClient(config, async (client) => {
        const reader = new StatusReader(client, config);
        const tasks: TaskStatus[] = [];
        for (const job of jobs) for (const task of job.registerTask) tasks.push(await reader.task(job.name, task, { runs: true }));
        return { tasks, slaves: await reader.slaves(buildId) };
      });
      if (options.json) return printJson({ tasks, slaves, buildId });
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
      if (slaves.length === 0) {
        print('no live slaves (start one with gflow slave start --slave <name>, or gflow worker --slave <name> in the foreground)');
        return;
      }
      printTable(
        ['slave', 'pid', 'code', 'queues', 'last contact'],
        slaves.map((s) => [s.slave, s.pid ?? '-', `${s.buildId ?? '?'}${s.versionWarning ? ' !' : ''}`, s.queues.join(', '), s.lastContact]),
      );
      const flagged = slaves.filter((s) => s.versionWarning);
      if (flagged.length > 0) {
        print();
        // One line per slave out of step: the operator redeploys before trusting its results.
        for (const s of flagged) print(`warning: slave ${s.slave} (pid ${s.pid ?? '?'}) ${s.versionWarning}`);
      } else {
        print(`all slaves run this checkout's code (${buildId})`);
      }
    });
}
