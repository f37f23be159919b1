/** `gflow diff <rerun>`: what a rerun changed, row by row, column by column. */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import { cliContext, lazyImport, listOption, print, printJson, printTable } from '../context';
import { parseFilters } from '../rerun/filters';

export function diffCommand(): Command {
  return new Command('diff')
    .description("show a rerun's diff: rows added, removed and changed, with old → new values")
    .argument('<rerun>', 'a rerun id (see gflow reruns)')
    .option('--period <key>', 'only this period (e.g. 20150420)')
    .option('-g, --games <ids>', 'only these games (comma-separated)', listOption('-g'))
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow diff gflow.report.rerun-20261125014500-ab12
  $ gflow diff gflow.report.rerun-20261125014500-ab12 --period 20261101 -g 3 --json`)
    .action(async function (this: Command, rerunId: string, options: { period?: string; games?: string[]; json?: boolean }) {
      const { config } = cliContext(this);
      const { games } = parseFilters({ games: options.games });
      const { readDiff } = lazyImport('store/reruns/backup');
      const { Names } = lazyImport('core/names');
      const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
      const names = new Names(config.prefix);
      // An unknown id is a mistake, not a rerun without changes.
      const record = await lazyImport('store/ledger/reruns').getRerun(mysql, names, rerunId);
      if (!record) throw usageError(`no rerun ${JSON.stringify(rerunId)} in the ledger (see gflow reruns)`);
      if (record.prunedAt) throw usageError(`rerun ${rerunId} was pruned on ${record.prunedAt}: its diff is gone`);
      const rows = await readDiff(mysql, names, rerunId, {
        ...(options.period && { period: options.period }),
        ...(games && { games }),
      });
      if (options.json) return printJson(rows);
      if (rows.length === 0) return print(`rerun ${rerunId}: no changes${options.period ? ` in ${options.period}` : ''}`);
      printTable(
        ['period', 'table', 'game', 'key', 'change', 'columns'],
        rows.map((r) => [
          r.period,
          r.table,
          r.game,
          Object.values(r.key).join(' '),
          r.change,
          Object.entries(r.columns)
            .map(([c, v]) => `${c}: ${show(v.old)} → ${show(v.new)}`)
            .join('; '),
        ]),
      );
    });
}

function show(value: unknown): string {
  return value === null || value === undefined ? 'NULL' : String(value);
}
