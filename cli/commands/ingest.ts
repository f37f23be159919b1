/** `gflow ingest <file|->...`: load JSON-lines player events into the activity stores. */
import { Command } from 'commander';
import { failure, usageError } from '../../core/errors';
import { Names } from '../../core/names';
import { dataSettings } from '../../store/config/runtime-config';
import { gameRouting, listGames } from '../../store/games/registry';
import { formatReport, ingestFiles } from '../../store/activity/ingest';
import { getMysql } from '../../infra/mysql';
import { getRedis, pingRedis } from '../../infra/redis';
import { cliContext, print, printJson } from '../context';

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
      const batchSize = wholeOption(options.batchSize, '--batch-size', 1, 1_000_000);
      const maxReported = wholeOption(options.showErrors, '--show-errors', 0, 100_000);
      await pingRedis(config.redisUrl);
      const names = new Names(config.prefix);
      const redis = getRedis(config.redisUrl);
      const [games, settings] = await Promise.all([listGames(getMysql(config.mysqlUrl), names), dataSettings(redis, names)]);
      const routing = gameRouting(games, { redis, tz: config.tz });
      const report = await ingestFiles(files, { names, ...routing, settings: settings.activity, batchSize, maxReported });
      if (options.json) printJson(report);
      else for (const line of formatReport(report)) print(line);
      const failedEvents = Object.values(report.failedGames).reduce((n, f) => n + f.events, 0);
      if (report.rejected > 0 || failedEvents > 0) {
        throw failure(
          [report.rejected > 0 ? `${report.rejected} of ${report.lines} lines rejected` : '', failedEvents > 0 ? `${failedEvents} events not written` : '']
            .filter(Boolean)
            .join(', '),
        );
      }
    });
}

function wholeOption(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usageError(`${flag} ${JSON.stringify(value)} is not valid: use a whole number from ${min} to ${max}`);
  return n;
}
