/**
 * `gflow restore <rerun>`: put the rows a rerun backed up back in place.
 * A durable workflow of idempotent steps, latest period first; running it
 * twice leaves the same rows.
 */
import { Command } from 'commander';
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
      const by = lazyImport('infra/who').startedBy(options.reason);
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const { planRestore, startRestore } = lazyImport('client/restore');
      const planned = await planRestore(lazyImport('infra/mysql').getMysql(config.mysqlUrl), config, rerunId, (job) => registry.tasks(job), options.period);
      const { checkReadyToRun, withClient } = lazyImport('client/connect');
      await withClient(config, async (client) => {
        await checkReadyToRun(client, config, log);
        const outcome = await (await startRestore(client, config, planned, by, options.period)).result();
        if (options.json) return printJson(outcome);
        print(`rerun ${rerunId}: restored ${outcome.periods} period(s): ${outcome.restored} rows put back, ${outcome.deleted} recomputed rows removed`);
      });
    });
}
