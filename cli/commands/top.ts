/**
 * `gflow top [job]`: per task, the schedule's state, the running run, the
 * last run's summary and failed games; then the live slaves with the code
 * version each runs, flagging any out of step.
 */
import { Command } from 'commander';
import type { TaskStatus } from '../../client/status';
import { outcomeWords } from '../../core/outcome';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';

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
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const jobs = jobName ? [registry.job(jobName)] : registry.list();
      const buildId = lazyImport('worker/build-id').computeBuildId(config.jobsDir);
      const { StatusReader, lastRuns } = lazyImport('client/status');
      const { tasks, slaves } = await lazyImport('client/connect').withClient(config, async (client) => {
        const reader = new StatusReader(client, config);
        const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
        const names = new (lazyImport('core/names').Names)(config.prefix);
        const tasks: TaskStatus[] = [];
        for (const job of jobs) {
          for (const task of job.registerTask) tasks.push({ ...(await reader.task(job.name, task, { runs: true })), ...(await lastRuns(mysql, names, job.name, task.name)) });
        }
        return { tasks, slaves: await reader.slaves(buildId) };
      });
      if (options.json) return printJson({ tasks, slaves, buildId });
      printTable(
        ['task', 'schedule', 'running', 'last run', 'items ok', 'failed', 'last rerun'],
        tasks.map((t) => [
          `${t.job}.${t.task}`,
          t.schedule ? `${t.schedule.state}${t.schedule.nextRuns[0] ? ` → ${t.schedule.nextRuns[0]}` : ''}` : 'once',
          t.running.map(runningText).join(', ') || '-',
          t.last ? `${t.last.period} ${outcomeWords(t.last.outcome)}` : '-',
          t.last ? `${t.last.itemsOk}/${t.last.itemsTotal}` : '-',
          t.last?.failed.map((f) => f.label).join(', ') || '-',
          t.lastRerun ? `${t.lastRerun.period} ${outcomeWords(t.lastRerun.outcome)}` : '-',
        ]),
      );
      const failures = tasks.flatMap((t) => [
        ...(t.last?.error ? [{ task: `${t.job}.${t.task}`, label: `run ${t.last.period}`, error: t.last.error }] : []),
        ...(t.last?.failed ?? []).map((f) => ({ task: `${t.job}.${t.task}`, ...f })),
      ]);
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

/** `20261124 (120/500 items, 3m12s)`: a running run as top shows it. */
function runningText(r: TaskStatus['running'][number]): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(r.startedAt)) / 1000));
  const elapsed = seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
  const items = r.progress ? `${r.progress.done}/${r.progress.total} items${r.progress.failed ? `, ${r.progress.failed} failed` : ''}, ` : '';
  return `${r.period ?? r.id} (${items}${elapsed})`;
}
