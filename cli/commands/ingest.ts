/** `gflow ingest <file|->...`: load JSON-lines player events into the activity stores. */
import { Command } from 'commander';
import { failure } from '../../core/errors';
import { parseWholeNumber } from '../../core/parse';
import { cliContext, lazyImport, print, printJson } from '../context';

interface IngestCliOptions {
  batchSize: string;
  showErrors: string;
  json?: boolean;
}

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('ingest player events from JSON-lines files (- for stdin); exit 1 if any line was rejected')
    .argument('<files...>', 'JSON-lines files, or - for stdin')
    .option('--batch-size <n>', 'events per pipelined write', '5000')
    .option('--show-errors <n>', 'rejected lines reported in detail (the rest are counted)', '10')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', `
One event per line:
  {"game":7,"user":"u1","type":"login","ts":"2026-11-24T10:00:00+08:00"}
  {"game":7,"user":"u1","type":"pay","ts":1764000000,"id":"order-1","amount":"6.99"}
Types: register, login, online, pay (pay needs id and amount). ts: ISO-8601 with
an offset, or epoch seconds. Ingesting a file twice changes no count.

Examples:
  $ gflow ingest events-20261124.jsonl
  $ zcat events.jsonl.gz | gflow ingest -
  $ gflow ingest a.jsonl b.jsonl --json`)
    .action(async function (this: Command, files: string[], options: IngestCliOptions) {
      const { config } = cliContext(this);
      const batchSize = parseWholeNumber(options.batchSize, '--batch-size', { min: 1, max: 1_000_000 });
      const maxReported = parseWholeNumber(options.showErrors, '--show-errors', { min: 0, max: 100_000 });
      const { getRedis, pingRedis } = lazyImport('infra/redis');
      const { gameRouting, listGames } = lazyImport('store/games/registry');
      const { dataSettings } = lazyImport('store/config/runtime-config');
      const { formatReport, ingestFiles } = lazyImport('store/activity/ingest');
      const { Names } = lazyImport('core/names');
      await pingRedis(config.redisUrl);
      const names = new Names(config.prefix);
      const redis = getRedis(config.redisUrl);
      const [games, settings] = await Promise.all([listGames(lazyImport('infra/mysql').getMysql(config.mysqlUrl), names), dataSettings(redis, names)]);
      const routing = gameRouting(games, { redis, tz: config.tz });
      const report = await ingestFiles(files, { names, ...routing, settings: settings.activity, batchSize, maxReported });
      if (options.json) printJson(report);
      else for (const line of formatReport(report)) print(line);
      const failedEvents = Object.values(report.failedGames).reduce((n, f) => n + f.events, 0);
      const failedGames = Object.keys(report.failedGames);
      if (report.rejected > 0 || failedEvents > 0) {
        throw failure(
          [
            report.rejected > 0 ? `${report.rejected} of ${report.lines} lines rejected` : '',
            failedEvents > 0 ? `${failedEvents} events of game${failedGames.length > 1 ? 's' : ''} ${failedGames.join(', ')} set aside (not written)` : '',
          ]
            .filter(Boolean)
            .join(', '),
        );
      }
    });
}
