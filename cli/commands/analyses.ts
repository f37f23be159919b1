/**
 * `gflow analyses`: the computations of analyses the ledger recorded (what
 * was asked, with which parameters, from where, by whom, how long it took
 * and how it ended), newest first, long after Temporal's retention; and
 * `gflow analyses prune` for the finished ones, which nothing else deletes.
 */
import { Command } from 'commander';
import { parseAge } from '../../core/parse';
import type { LedgerAnalysis } from '../../store/ledger/analyses';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';

interface ListOptions {
  job?: string;
  analysis?: string;
  outcome?: string;
  limit?: string;
  json?: boolean;
}

/** Characters of an error, and of the parameters, a table row shows: the rest is in --json. */
const SHOWN_TEXT = 60;

// The ledger store loads the MySQL driver: loaded when an action runs, so that `gflow help analyses` does not.
const ledger = () => lazyImport('store/ledger/analyses');

export function analysesCommand(): Command {
  const command = new Command('analyses')
    .description('list the computations of analyses the ledger recorded, newest first; prune old ones')
    .option('-j, --job <job>', 'only analyses of this job')
    .option('-a, --analysis <analysis>', 'only this analysis: retention, or report.retention')
    .option('--outcome <outcome>', 'only computations that are running, ok or failed')
    .option('-n, --limit <n>', 'at most this many, the newest (default: 50)')
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow analyses
  $ gflow analyses --analysis report.retention --outcome failed
  $ gflow analyses --job report --limit 500 --json
  $ gflow analyses prune --older-than 30d

Answers served from the cache compute nothing and are not recorded.`)
    .action(async function (this: Command, options: ListOptions) {
      // Every refusal before anything connects.
      const filter = lazyImport('client/analysis-history').analysisListFilter(options, (field) => `--${field}`);
      const { config } = cliContext(this);
      const { Names } = lazyImport('core/names');
      const rows = await ledger().listAnalyses(lazyImport('infra/mysql').getMysql(config.mysqlUrl), new Names(config.prefix), filter);
      if (options.json) return printJson(rows);
      if (rows.length === 0) return print('no computations recorded' + (filter.job || filter.analysis || filter.outcome ? ' that match' : ''));
      printTable(
        ['id', 'analysis', 'params', 'origin', 'started by', 'started at (UTC)', 'duration', 'outcome', 'provisional', 'error'],
        rows.map((r) => [
          r.id,
          `${r.job}.${r.analysis}`,
          shortened(compactParams(r.params)) || '-',
          r.origin,
          r.startedBy ?? '-',
          r.startedAt.replace(/\.\d+$/, ''),
          r.durationMs === undefined ? '-' : duration(r.durationMs),
          r.outcome,
          r.provisional === undefined ? '-' : r.provisional ? 'yes' : 'no',
          r.error === undefined ? '-' : shortened(r.error),
        ]),
      );
      if (rows.length === filter.limit) {
        print(filter.limit < ledger().MAX_ANALYSIS_LIST ? `(the ${rows.length} newest; --limit for more)` : `(the ${rows.length} newest, the most one listing shows: narrow it with --job, --analysis or --outcome)`);
      }
    });
  command
    .command('prune')
    .description('delete the ledger rows of finished computations (ok or failed) started longer ago than --older-than')
    .requiredOption('--older-than <age>', 'computations started longer ago than this: 90d, 12h, 30m, 2w')
    .option('--json', 'print what was deleted as JSON')
    .addHelpText('after', `
Examples:
  $ gflow analyses prune --older-than 30d

A computation still running is never deleted. Deleted in slices, so a
large ledger is not locked for long.`)
    .action(async function (this: Command, options: { olderThan: string }) {
      const age = parseAge(options.olderThan, '--older-than');
      // The list's own --json takes `prune … --json` before prune sees it (commander reads a parent's options anywhere on the line).
      const json = this.optsWithGlobals<{ json?: boolean }>().json;
      const { config } = cliContext(this);
      const { Names } = lazyImport('core/names');
      const result = await ledger().pruneAnalyses(lazyImport('infra/mysql').getMysql(config.mysqlUrl), new Names(config.prefix), Date.now() - age);
      if (json) return printJson(result);
      print(`deleted ${result.deleted} computations that ended and started over ${options.olderThan} ago`);
      // As old and still running: most likely computations whose workflow died before recording their end.
      if (result.stillRunning > 0) print(`not deleted, still running: ${result.stillRunning} (gflow analyses --outcome running lists them)`);
    });
  return command;
}

/** `game=7,from=20261101,to=20261115,server=3-5`: the parameters as the request's id shows them. */
function compactParams(params: LedgerAnalysis['params']): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${isRange(v) ? `${v.from}-${v.to}` : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(',');
}

/** A `param.range()` value, `{ from: 3, to: 5 }`. */
function isRange(v: unknown): v is { from: number; to: number } {
  return typeof v === 'object' && v !== null && typeof (v as { from?: unknown }).from === 'number' && typeof (v as { to?: unknown }).to === 'number';
}

/** The first line of `text`, cut to {@link SHOWN_TEXT} characters. */
function shortened(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > SHOWN_TEXT || line.length < text.trim().length ? `${line.slice(0, SHOWN_TEXT - 1)}…` : line;
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}
