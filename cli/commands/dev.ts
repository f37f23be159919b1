/**
 * `gflow dev [job]`: the embedded default. With only Redis and MySQL
 * reachable it starts a Temporal dev server (unless TEMPORAL_ADDRESS names
 * one), migrates the MySQL schemas, starts a slave, runs the job and prints
 * what happened and where to look in the web UI.
 */
import { Command } from 'commander';
import type { RunSummary } from '../../activities/types';
import { parseWholeNumber } from '../../core/parse';
import { cliContext, lazyImport, print, printTable } from '../context';

interface DevOptions {
  slave: string;
  exit?: boolean;
  uiPort: string;
}

export function devCommand(): Command {
  return new Command('dev')
    .description('embedded default: start a Temporal dev server and a slave, then run a job (default: demo)')
    .argument('[job]', 'job to start', 'demo')
    .option('-s, --slave <name>', 'name of the in-process slave', 'dev')
    .option('--ui-port <port>', 'web UI port of the embedded dev server', '8233')
    .option('--exit', 'stop everything once the job has run, instead of serving the web UI until Ctrl-C')
    .addHelpText('after', `
Examples:
  $ gflow dev                 run the demo job, keep the web UI up
  $ gflow dev demo --exit     run it and exit (for scripts)
  $ TEMPORAL_ADDRESS=temporal:7233 gflow dev   use a running cluster instead`)
    .action(async function (this: Command, jobName: string, options: DevOptions) {
      const { config, log } = cliContext(this);
      const uiPort = parseWholeNumber(options.uiPort, '--ui-port', { min: 1, max: 65_535 });
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const tasks = registry.tasks(jobName);
      const { getMysql, pingMysql } = lazyImport('infra/mysql');
      await lazyImport('infra/redis').pingRedis(config.redisUrl);
      await pingMysql(config.mysqlUrl);

      const { Names } = lazyImport('core/names');
      const { embeddedServer, ensureSampleGames, waitForSignal } = lazyImport('dev/embedded');
      const names = new Names(config.prefix);
      const mysql = getMysql(config.mysqlUrl);
      const { applied } = await lazyImport('store/schema/migrations').migrate(mysql, names, { jobs: registry.list() });
      if (applied.length > 0) log.info(`MySQL schemas ${names.schema('meta')}, _tag, _report, _log migrated: ${applied.join(', ')}`);
      const samples = await ensureSampleGames(mysql, names);
      if (samples.length > 0) log.info(`games registry was empty: registered sample games ${samples.join(', ')}`);

      const server = await embeddedServer(config, uiPort, log.info);
      const consoleServer = options.exit ? undefined : await lazyImport('console/server').startConsole({ ...config, ...(server && { temporalUiUrl: server.uiUrl }) }, { portInUse: 'any' });
      const stopSignal = waitForSignal();
      try {
        const slave = await lazyImport('worker/slave').createSlave({ config, slave: options.slave });
        const running = slave.run();
        try {
          const { JobControl } = lazyImport('client/control');
          const actions = await lazyImport('client/connect').withClient(config, async (client) => {
            const control = new JobControl(client, config);
            const done = await control.start(jobName, tasks, { now: true });
            printTable(['task', 'action', 'id'], done.map((a) => [a.task, a.action, a.id]));
            for (const action of done.filter((a) => a.action === 'started once')) {
              const summary = (await client.workflow.getHandle(action.id).result()) as RunSummary;
              printSummary(summary);
            }
            return done;
          });
          const ui = server?.uiUrl ?? '(the web UI of your Temporal cluster)';
          print();
          print(`Web UI: ${ui}/namespaces/${config.temporalNamespace}/workflows?query=${encodeURIComponent(`GflowJob="${jobName}"`)}`);
          for (const a of actions) print(`  ${a.task}: ${ui}/namespaces/${config.temporalNamespace}/workflows/${encodeURIComponent(a.id)}`);
          if (consoleServer) print(`Console: ${consoleServer.url}`);
          if (!options.exit) {
            print(`Temporal: ${lazyImport('infra/temporal').temporalAddress(config)}. Slave ${slave.name} is running; press Ctrl-C to stop.`);
            await stopSignal;
          }
        } finally {
          slave.shutdown();
          await running;
        }
      } finally {
        await consoleServer?.close();
        await server?.stop();
      }
    });
}

function printSummary(s: RunSummary): void {
  print();
  print(`${s.job}.${s.task} for ${s.period}: ${s.ok}/${s.items} items ok in ${s.durationMs} ms`);
  for (const f of s.failed) print(`  failed ${f.label}: ${f.error}`);
  if (s.afterExecute) print(`  afterExecute: ${s.afterExecute.ok ? 'ok' : s.afterExecute.error}`);
}
