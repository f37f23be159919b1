/**
 * `gflow worker --slave <name>`: run this host's slave in the foreground
 * (for containers and supervisors) until SIGINT or SIGTERM.
 */
import { Command } from 'commander';
import { hostname } from 'node:os';
import { cliContext, lazyImport } from '../context';

export function workerCommand(): Command {
  return new Command('worker')
    .description("run a slave in the foreground: polls the shared queue and the slave's own")
    .option('-s, --slave <name>', 'slave name (items pinned to it run here)', hostname().split('.')[0])
    .addHelpText('after', `
Examples:
  $ gflow worker --slave s1
  $ GFLOW_PREFIX=staging gflow worker --slave s2`)
    .action(async function (this: Command, options: { slave: string }) {
      const { config, log } = cliContext(this);
      const slave = await lazyImport('worker/slave').createSlave({ config, slave: options.slave, log: log.child(`slave.${options.slave}`), exitProcessOnAbandon: true });
      log.info(`slave ${slave.name} polling ${slave.queues.join(' and ')} (Ctrl-C to stop)`);
      await slave.run();
      log.info(`slave ${slave.name} stopped`);
    });
}
