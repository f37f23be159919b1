/** `gflow reruns [id]`: list reruns, show one, follow it live, or cancel it. */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import type { rerun, RerunResult } from '../../workflows/rerun';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';
import { printRerunSummary } from '../rerun/summary';
import { watchRerun } from '../rerun/watch';

interface RerunsOptions {
  job?: string;
  watch?: boolean;
  cancel?: boolean;
  json?: boolean;
}

export function rerunsCommand(): Command {
  return new Command('reruns')
    .description('list reruns; with an id, show its progress or summary')
    .argument('[rerun]', 'a rerun id')
    .option('-j, --job <job>', 'only reruns of this job')
    .option('--watch', 'follow a running rerun until it ends')
    .option('--cancel', 'cancel a running rerun (backups and diffs made so far stay)')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow reruns
  $ gflow reruns gflow.report.rerun-20261125014500-ab12 --watch
  $ gflow reruns gflow.report.rerun-20261125014500-ab12 --cancel`)
    .action(async function (this: Command, id: string | undefined, options: RerunsOptions) {
      const { config } = cliContext(this);
      if (!id && (options.watch || options.cancel)) throw usageError('--watch and --cancel need a rerun id (see gflow reruns)');
      const { Names, searchAttributes } = lazyImport('core/names');
      const { WorkflowNotFoundError } = lazyImport('@temporalio/client');
      const { rerunProgressQuery } = lazyImport('workflows/messages');
      await lazyImport('client/connect').withClient(config, async (client) => {
        if (!id) {
          const rows: Array<{ id: string; job: string; status: string; started: string; closed: string }> = [];
          for await (const run of client.workflow.list({ query: new Names(config.prefix).rerunsQuery(options.job) })) {
            rows.push({
              id: run.workflowId,
              job: String(run.searchAttributes?.[searchAttributes.job.name]?.[0] ?? ''),
              status: run.status.name.toLowerCase(),
              started: run.startTime.toISOString(),
              closed: run.closeTime?.toISOString() ?? '',
            });
          }
          if (options.json) return printJson(rows);
          if (rows.length === 0) return print('no reruns');
          return printTable(['rerun', 'job', 'status', 'started', 'closed'], rows.map((r) => [r.id, r.job, r.status, r.started, r.closed]));
        }
        const handle = client.workflow.getHandle<typeof rerun>(id);
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw usageError(`no rerun ${JSON.stringify(id)} (see gflow reruns)`);
          throw err;
        }
        if (options.cancel) {
          if (status !== 'RUNNING') throw usageError(`rerun ${id} is ${status.toLowerCase()}, not running`);
          await handle.cancel();
          return print(`rerun ${id}: cancel requested`);
        }
        if (status === 'RUNNING' && options.watch) {
          const outcome = await watchRerun(handle);
          if (outcome.kind === 'finished') return options.json ? printJson(outcome.result) : printRerunSummary(outcome.result);
          return;
        }
        if (status === 'RUNNING') {
          const p = await handle.query(rerunProgressQuery);
          if (options.json) return printJson(p);
          return print(`rerun ${id} is running: ${p.done}/${p.total} periods, ${p.gamesFailed} games failed, ${p.checksFailed} checks failed (--watch to follow)`);
        }
        if (status !== 'COMPLETED') return print(`rerun ${id} is ${status.toLowerCase()}`);
        const result: RerunResult = await handle.result();
        return options.json ? printJson(result) : printRerunSummary(result);
      });
    });
}
