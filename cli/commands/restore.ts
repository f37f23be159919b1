/**
 * `gflow restore <rerun>`: put the rows a rerun backed up back in place.
 * A durable workflow of idempotent steps, latest period first; running it
 * twice leaves the same rows.
 */
import { Command } from 'commander';
import { failure } from '../../core/errors';
import { cliContext, lazyImport, print, printJson } from '../context';

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore the report rows a rerun backed up (all its periods, or one)')
    .argument('<rerun>', 'a rerun id (see gflow reruns)')
    .option('--period <key>', 'only this period')
    .option('--reason <text>', 'why: recorded in the ledger with your user and host')
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', `
Examples:
  $ gflow restore gflow.report.rerun-20261125014500-ab12
  $ gflow restore gflow.report.rerun-20261125014500-ab12 --period 20261101`)
    .action(async function (this: Command, rerunId: string, options: { period?: string; reason?: string; json?: boolean }) {
      const { config, log } = cliContext(this);
      const { Names, runSearchAttributes } = lazyImport('core/names');
      const { rerunPlan, restoreSteps } = lazyImport('client/rerun-history');
      const { WorkflowExecutionAlreadyStartedError } = lazyImport('@temporalio/client');
      const { restore } = lazyImport('workflows/restore');
      const { warnIfNoSlaves, withClient } = lazyImport('client/connect');
      const names = new Names(config.prefix);
      const by = lazyImport('infra/who').startedBy(options.reason);
      const { record, plan } = await rerunPlan(lazyImport('infra/mysql').getMysql(config.mysqlUrl), names, rerunId);
      // The ledger knows, even after Temporal's retention has dropped the rerun.
      if (record.outcome === 'running') throw failure(`rerun ${rerunId} is still running: cancel it first (gflow reruns ${rerunId} --cancel)`);
      const tasks = lazyImport('infra/jobs').loadJobs(config.jobsDir).tasks(plan.job);
      const steps = restoreSteps(plan, new Map(tasks.map((t) => [t.name, t])), options.period);
      await withClient(config, async (client) => {
        await warnIfNoSlaves(client, config, log);
        try {
          const outcome = await client.workflow.execute(restore, {
            workflowId: names.restoreId(rerunId) + (options.period ? `.${options.period}` : ''),
            taskQueue: names.sharedQueue,
            args: [{ steps, by }],
            workflowIdConflictPolicy: 'FAIL',
            typedSearchAttributes: runSearchAttributes({ prefix: config.prefix, job: plan.job, rerun: rerunId }),
            staticSummary: `restore ${rerunId}${options.period ? ` period ${options.period}` : ''}`,
          });
          if (options.json) return printJson(outcome);
          print(`rerun ${rerunId}: restored ${outcome.periods} period(s): ${outcome.restored} rows put back, ${outcome.deleted} recomputed rows removed`);
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw failure(`a restore of ${rerunId} is already running`);
          throw err;
        }
      });
    });
}
