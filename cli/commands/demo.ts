/**
 * `gflow demo`: the whole product in one command, on the embedded default.
 * It generates a synthetic studio (data/synth.ts), ingests it, registers its
 * games, recomputes the `report` job's four daily tasks over its days as one
 * rerun across two in-process slaves, and prints the reports and where to
 * look in the Temporal web UI. `--out` writes the events to a file instead.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { failure } from '../../core/errors';
import type { Names } from '../../core/names';
import { parseWholeNumber } from '../../core/parse';
import type { SynthGame, SynthOptions } from '../../dev/synth';
import type { Config } from '../../infra/config';
import type { Slave } from '../../worker/slave';
import type { RerunResult } from '../../workflows/rerun';
import { cliContext, lazyImport, print, printTable } from '../context';
import { watchRerun } from '../rerun/watch';

/** The `report` job's daily tasks: the ones a day range recomputes. */
const REPORT_TASKS = ['active', 'retention', 'online', 'pay'];
const SLAVES = ['demo-1', 'demo-2'];

interface DemoOptions {
  games: string;
  days: string;
  users: string;
  seed: string;
  out?: string;
  exit?: boolean;
  uiPort: string;
}

/** The `gflow demo` command. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('generate a synthetic studio, ingest it, compute its reports across two slaves and print them')
    .option('--games <n>', 'games, each a third the size of the one before', '3')
    .option('--days <n>', 'days of events, ending yesterday', '14')
    .option('--users <n>', 'players of the biggest game', '3000')
    .option('--seed <text>', 'the same seed gives the same studio', '1')
    .option('--out <file>', 'only write the events as JSON lines to <file> (then: gflow ingest <file>)')
    .option('--ui-port <port>', 'web UI port of the embedded dev server', '8233')
    .option('--exit', 'stop once the reports are printed, instead of serving the web UI until Ctrl-C')
    .addHelpText('after', `
Events add to what the games already hold: for a clean studio use a fresh
prefix (GFLOW_PREFIX=demo2 gflow demo).

Examples:
  $ gflow demo                          3 games, 14 days, then keep the web UI up
  $ gflow demo --games 5 --days 30 --exit
  $ gflow demo --seed 7 --out studio.jsonl && gflow ingest studio.jsonl`)
    .action(async function (this: Command, options: DemoOptions) {
      const { config, log } = cliContext(this);
      const days = parseWholeNumber(options.days, '--days', { min: 1, max: 400 });
      const { synthDays, synthGames, windowEndingYesterday } = lazyImport('dev/synth');
      const synth: SynthOptions = {
        games: parseWholeNumber(options.games, '--games', { min: 1, max: 100 }),
        days,
        users: parseWholeNumber(options.users, '--users', { min: 1, max: 50_000_000 }),
        seed: options.seed,
        firstDay: windowEndingYesterday(days, config.tz),
        zone: config.tz,
      };
      if (options.out) return writeEvents(synth, options.out);
      const uiPort = parseWholeNumber(options.uiPort, '--ui-port', { min: 1, max: 65_535 });

      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const tasks = registry.tasks('report', REPORT_TASKS);
      const { getMysql, pingMysql } = lazyImport('infra/mysql');
      await lazyImport('infra/redis').pingRedis(config.redisUrl);
      await pingMysql(config.mysqlUrl);
      const { Names } = lazyImport('core/names');
      const names = new Names(config.prefix);
      const mysql = getMysql(config.mysqlUrl);
      await lazyImport('store/schema/migrations').migrate(mysql, names, { jobs: registry.list() });
      const { addGame, getGame, validateGame } = lazyImport('store/games/registry');
      const games = synthGames(synth);
      for (const game of games) if (!(await getGame(mysql, names, game.id))) await addGame(mysql, names, validateGame({ id: game.id, name: game.name }));
      const dayList = synthDays(synth);
      const [first, last] = [dayList[0]!, dayList[dayList.length - 1]!];
      await ingest(config, names, synth, log.info);

      const { embeddedServer, waitForSignal } = lazyImport('dev/embedded');
      const server = await embeddedServer(config, uiPort, log.info);
      const consoleServer = options.exit ? undefined : await lazyImport('console/server').startConsole({ ...config, ...(server && { temporalUiUrl: server.uiUrl }) }, { portInUse: 'any' });
      const stopSignal = waitForSignal();
      try {
        const { createSlave } = lazyImport('worker/slave');
        const slaves = await Promise.all(SLAVES.map((slave) => createSlave({ config, slave, shutdownGraceSeconds: 5 })));
        const running = slaves.map((s) => s.run());
        try {
          const { planRerun, startRerun } = lazyImport('client/reruns');
          const result = await lazyImport('client/connect').withClient(config, async (client) => {
            const input = planRerun(config, {
              job: 'report',
              tasks,
              range: `${first},${last}`,
              filters: { games: games.map((g) => g.id) },
              parallelism: 4,
              maxPeriods: 400,
              // Recorded like any rerun: who ran the demo, and why.
              startedBy: lazyImport('infra/who').startedBy('gflow demo'),
            });
            const handle = await startRerun(client, config, input);
            log.info(`rerun ${input.rerunId}: ${REPORT_TASKS.join(', ')} for ${first}..${last} on slaves ${SLAVES.join(', ')}`);
            const outcome = await watchRerun(handle);
            if (outcome.kind === 'detached') throw failure(`detached; rerun ${input.rerunId} goes on in Temporal (gflow reruns ${input.rerunId} --watch)`);
            return outcome.result;
          });
          printRerun(result);
          await printReports(config, names, games, first, last, days);
          printWhereToLook(config, result.rerunId, server?.uiUrl);
          if (consoleServer) print(`Console: ${consoleServer.url}rerun?id=${encodeURIComponent(result.rerunId)} (reports: ${consoleServer.url}reports)`);
          if (!options.exit) {
            print(`Temporal: ${lazyImport('infra/temporal').temporalAddress(config)}. Slaves ${SLAVES.join(', ')} are running; press Ctrl-C to stop.`);
            await stopSignal;
          }
          if (!result.ok) throw failure(`rerun ${result.rerunId} did not fully succeed (see above; gflow diff ${result.rerunId})`);
        } finally {
          await stop(slaves, running);
        }
      } finally {
        await consoleServer?.close();
        await server?.stop();
      }
    });
}

async function writeEvents(synth: SynthOptions, file: string): Promise<void> {
  const { synthDays, synthGames, synthJsonChunks } = lazyImport('dev/synth');
  let events = 0;
  function* counted(): Generator<string> {
    for (const chunk of synthJsonChunks(synth)) {
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) events++;
      yield chunk;
    }
  }
  await pipeline(Readable.from(counted()), createWriteStream(file));
  const days = synthDays(synth);
  print(`wrote ${events} events of ${synthGames(synth).length} games, ${days[0]}..${days[days.length - 1]}, to ${file}`);
  print(`load them with: gflow ingest ${file}`);
}

async function ingest(config: Config, names: Names, synth: SynthOptions, say: (m: string) => void): Promise<void> {
  const { gameRouting, listGames } = lazyImport('store/games/registry');
  const { dataSettings } = lazyImport('store/config/runtime-config');
  const redis = lazyImport('infra/redis').getRedis(config.redisUrl);
  const [registered, settings] = await Promise.all([listGames(lazyImport('infra/mysql').getMysql(config.mysqlUrl), names), dataSettings(redis, names)]);
  const started = Date.now();
  const report = await lazyImport('store/activity/ingest').ingestStream(Readable.from(lazyImport('dev/synth').synthJsonChunks(synth)), 'synthetic studio', {
    names,
    ...gameRouting(registered, { redis, tz: config.tz }),
    settings: settings.activity,
  });
  const failed = Object.keys(report.failedGames);
  if (report.rejected > 0 || failed.length > 0) throw failure(`ingesting the studio: ${report.rejected} events rejected, games failed: ${failed.join(', ') || 'none'}`);
  say(`ingested ${report.accepted} synthetic events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function printRerun(result: RerunResult): void {
  print();
  const byTask = REPORT_TASKS.map((task) => {
    const periods = result.periods.filter((p) => p.task === task);
    const sum = (f: (p: (typeof periods)[number]) => number) => periods.reduce((n, p) => n + f(p), 0);
    const failed = periods.flatMap((p) => (p.error ? [`${p.period.key}: ${p.error}`] : p.gamesFailed.map((g) => `${p.period.key} ${g}`)));
    return [task, periods.length, sum((p) => p.added), sum((p) => p.changed), sum((p) => p.checkErrors), failed.join('; ') || '-'];
  });
  printTable(['task', 'days', 'rows added', 'rows changed', 'checks failed', 'failed'], byTask);
  print(`rerun ${result.rerunId}: ${result.periods.length} periods in ${(result.durationMs / 1000).toFixed(1)} s${result.ok ? '' : ' — NOT all succeeded'}`);
}

async function printReports(config: Config, names: Names, games: readonly SynthGame[], first: string, last: string, days: number): Promise<void> {
  const { readCohorts, readDaily } = lazyImport('jobs/report/read');
  const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
  const ids = games.map((g) => g.id);
  const [daily, cohorts] = await Promise.all([readDaily(mysql, names, ids, first, last), readCohorts(mysql, names, ids, first, last)]);
  // A dN column is shown only if the window can fill it for some cohort.
  const shown = lazyImport('jobs/report/compute').RETENTION_DAYS.filter((n) => n < days);
  for (const game of games) {
    print();
    print(`${game.name} (game ${game.id}, ${game.users} players)`);
    printTable(
      ['day', 'dau', 'wau', 'mau', 'new', 'pcu', 'acu', 'payers', 'revenue', 'pay rate', 'arpu', 'arppu'],
      daily
        .filter((r) => r.game === game.id)
        .map((r) => [r.day, n(r.dau), n(r.wau), n(r.mau), n(r.newUsers), n(r.pcu), n(r.acu, 1), n(r.payers), n(r.revenue, 2), pct(r.payRate), n(r.arpu, 3), n(r.arppu, 2)]),
    );
    print();
    print(`retention of ${game.name}: share of each day's new players back N days later`);
    printTable(
      ['cohort', 'new', ...shown.map((d) => `d${d}`)],
      cohorts.filter((c) => c.game === game.id).map((c) => [c.cohortDay, c.newUsers, ...shown.map((d) => pct(share(c.retained[d], c.newUsers)))]),
    );
  }
}

function n(value: number | null, decimals = 0): string {
  return value === null ? '' : value.toFixed(decimals);
}

function pct(value: number | null): string {
  return value === null ? '' : `${(value * 100).toFixed(1)}%`;
}

function share(part: number | null, whole: number): number | null {
  return part === null || whole === 0 ? null : part / whole;
}

/** Links into the embedded web UI; with a configured cluster, what to look for in its UI. */
function printWhereToLook(config: Config, rerunId: string, ui: string | undefined): void {
  const ns = config.temporalNamespace;
  const query = `GflowPrefix="${config.prefix}" AND GflowJob="report"`;
  print();
  if (ui) {
    print(`Web UI: ${ui}/namespaces/${ns}/workflows/${encodeURIComponent(rerunId)}`);
    print(`  every report run: ${ui}/namespaces/${ns}/workflows?query=${encodeURIComponent(query)}`);
  } else {
    print(`In the web UI of Temporal at ${lazyImport('infra/temporal').temporalAddress(config)}, namespace ${ns}: workflow ${rerunId}`);
    print(`  every report run: the query ${query}`);
  }
  print(`  what changed: gflow diff ${rerunId}`);
}

async function stop(slaves: readonly Slave[], running: ReadonlyArray<Promise<void>>): Promise<void> {
  for (const s of slaves) s.shutdown();
  await Promise.all(running);
}
