/**
 * `gflow dev [job]`: the embedded default. With only Redis and MySQL
 * reachable it starts a Temporal dev server (unless TEMPORAL_ADDRESS names
 * one), migrates the MySQL schemas, starts a slave, runs the job and prints
 * what happened and where to look in the web UI.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import { addGame, listEnabledGames, validateGame } from '../../data/games';
import { migrate } from '../../data/migrations';
import { JobControl } from '../../runtime/control';
import { portOpen, startDevServer, type DevServer } from '../../runtime/dev-server';
import { loadJobs } from '../../runtime/jobs';
import { getMysql, pingMysql } from '../../runtime/mysql';
import { pingRedis } from '../../runtime/redis';
import { findTemporalCli } from '../../runtime/temporal-cli';
import { EMBEDDED_ADDRESS, temporalAddress } from '../../runtime/temporal';
import { createSlave } from '../../workers/slave';
import { cliContext, print, printTable } from '../context';
import { withClient } from '../temporal';

/** Games the embedded default registers when the registry is empty, so the demo has items. */
const SAMPLE_GAMES = [
  { id: 1, name: 'Dragon Saga' },
  { id: 2, name: 'Puzzle Pop' },
  { id: 3, name: 'Kart Rush' },
];

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
      const registry = loadJobs(config.jobsDir);
      const tasks = registry.tasks(jobName);
      await pingRedis(config.redisUrl);
      await pingMysql(config.mysqlUrl);

      const names = new Names(config.prefix);
      const mysql = getMysql(config.mysqlUrl);
      const { applied } = await migrate(mysql, names);
      if (applied.length > 0) log.info(`MySQL schemas ${names.schema('meta')}, _tag, _report, _log migrated: ${applied.join(', ')}`);
      if ((await listEnabledGames(mysql, names)).length === 0) {
        for (const game of SAMPLE_GAMES) await addGame(mysql, names, validateGame(game));
        log.info(`games registry was empty: registered sample games ${SAMPLE_GAMES.map((g) => g.id).join(', ')}`);
      }

      const server = await embeddedServer(config.temporalAddress, config.temporalCli, Number(options.uiPort), log.info);
      const stopSignal = waitForSignal();
      try {
        const slave = await createSlave({ config, slave: options.slave });
        const running = slave.run();
        try {
          const actions = await withClient(config, async (client) => {
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
          if (!options.exit) {
            print(`Temporal: ${temporalAddress(config)}. Slave ${slave.name} is running; press Ctrl-C to stop.`);
            await stopSignal;
          }
        } finally {
          slave.shutdown();
          await running;
        }
      } finally {
        await server?.stop();
      }
    });
}

/** Start a dev server unless a Temporal address is configured or one already listens on the default port. */
async function embeddedServer(
  address: string | undefined,
  cli: string | undefined,
  uiPort: number,
  say: (m: string) => void,
): Promise<DevServer | undefined> {
  if (address) return undefined;
  const [host, port] = EMBEDDED_ADDRESS.split(':') as [string, string];
  if (await portOpen(host, Number(port))) {
    say(`using the Temporal server already listening on ${EMBEDDED_ADDRESS}`);
    return { address: EMBEDDED_ADDRESS, uiUrl: `http://localhost:${uiPort}`, logFile: '', stop: async () => undefined };
  }
  const server = await startDevServer({ cli: findTemporalCli(cli), port: Number(port), uiPort, dataDir: join(process.cwd(), '.gflow') });
  say(`Temporal dev server started on ${server.address} (web UI ${server.uiUrl}, log ${server.logFile})`);
  return server;
}

function printSummary(s: RunSummary): void {
  print();
  print(`${s.job}.${s.task} for ${s.period}: ${s.ok}/${s.items} items ok in ${s.durationMs} ms`);
  for (const f of s.failed) print(`  failed ${f.label}: ${f.error}`);
  if (s.afterExecute) print(`  afterExecute: ${s.afterExecute.ok ? 'ok' : s.afterExecute.error}`);
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
