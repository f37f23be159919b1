/**
 * `gflow status <job>`: per task, the games × periods matrix from the ledger:
 * ok, partial, failed, running, missing, skipped. Coloured with a legend on
 * a terminal, plain glyphs otherwise; `--failed` lists only the cells that
 * need attention, with their errors and failed checks; `--json` every cell.
 */
import { Command } from 'commander';
import type { TaskMatrix } from '../../client/matrix';
import { CELL_STATES, type Cell, type CellState } from '../../core/matrix';
import { cliContext, lazyImport, listOption, print, printJson, printTable } from '../context';
import { parseFilters } from '../rerun/filters';

interface StatusOptions {
  tasks?: string[];
  date?: string;
  games?: string[];
  failed?: boolean;
  json?: boolean;
}

/** Columns one block of the matrix holds: a month of days. */
const COLUMNS_PER_BLOCK = 31;

const GLYPH: Readonly<Record<CellState, string>> = { ok: '.', partial: 'p', failed: 'X', running: '>', missing: '?', skipped: 's', none: ' ' };
const COLOUR: Readonly<Record<CellState, string>> = { ok: '32', partial: '33', failed: '31', running: '36', missing: '35', skipped: '90', none: '0' };

export function statusCommand(): Command {
  return new Command('status')
    .description('the games × periods matrix of a job\'s tasks, from the ledger')
    .argument('<job>', 'job name (see gflow jobs)')
    .option('-t, --tasks <names>', 'only these tasks (comma-separated)', listOption('-t'))
    .option('-d, --date <range>', 'periods: one, or first,last (default: the latest ones)')
    .option('-g, --games <ids>', 'only these games (comma-separated)', listOption('-g'))
    .option('--failed', 'list only the cells that need attention (failed, partial, missing), with their errors')
    .option('--json', 'print every cell as JSON')
    .addHelpText('after', `
Examples:
  $ gflow status report                         the last 14 days of every daily task
  $ gflow status report -t active -d 20261101,20261130 -g 1,2,3
  $ gflow status report --failed                what needs attention, and why

A missing period is a closed one since the task was started with no run that
covered it (slaves down over midnight, a paused schedule): gflow retry
<job> --missing fills it.`)
    .action(async function (this: Command, job: string, options: StatusOptions) {
      const { config } = cliContext(this);
      const filters = parseFilters({ ...(options.games && { games: options.games }) });
      const registry = lazyImport('infra/jobs').loadJobs(config.jobsDir);
      const tasks = registry.tasks(job, options.tasks ?? []).filter((t) => options.tasks || t.schedule.kind === 'calendar');
      const { scheduleCreated, taskMatrix } = lazyImport('client/matrix');
      const names = new (lazyImport('core/names').Names)(config.prefix);
      const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
      const matrices = await lazyImport('client/connect').withClient(config, async (client) => {
        const out: TaskMatrix[] = [];
        for (const task of tasks) {
          const created = await scheduleCreated(client, names, job, task.name);
          out.push(await taskMatrix(mysql, names, { job, task, zone: config.tz, maxPeriods: config.maxRerunPeriods, ...(options.date && { range: options.date }), ...(filters.games && { games: filters.games }) }, created));
        }
        return out;
      });
      // Without -t, a task never started and never run has nothing to show.
      const shown = options.tasks ? matrices : matrices.filter((m) => m.startedAt !== undefined || m.cells.some((c) => c.state !== 'none'));
      if (options.json) return printJson(options.failed ? shown.map((m) => ({ ...m, cells: m.cells.filter(needsAttention) })) : shown);
      if (options.failed) return printFailed(shown);
      if (shown.length === 0) return print(`no task of ${job} was started or has run yet (gflow start ${job})`);
      const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
      for (const m of shown) printMatrix(m, colour);
      print(legend(colour));
    });
}

function needsAttention(c: Cell): boolean {
  return c.state === 'failed' || c.state === 'partial' || c.state === 'missing';
}

function printFailed(matrices: readonly TaskMatrix[]): void {
  const rows = matrices.flatMap((m) => m.cells.filter(needsAttention).map((c) => [`${m.job}.${m.task}`, c.period, `game ${c.game}`, c.state, c.error ?? (c.state === 'missing' ? 'no run covered this period' : '-')]));
  if (rows.length === 0) return print('nothing needs attention');
  printTable(['task', 'period', 'game', 'state', 'error'], rows);
  print();
  print(`${rows.length} cells need attention: gflow retry <job> --failed or --missing (add --dry-run to see the impact first)`);
}

function printMatrix(m: TaskMatrix, colour: boolean): void {
  print(`${m.job}.${m.task} (${m.unit}s${m.startedAt ? `, started ${m.startedAt.slice(0, 10)}` : ', never started'})`);
  const byKey = new Map(m.cells.map((c) => [`${c.game}|${c.period}`, c]));
  const label = Math.max(6, ...m.games.map((g) => String(g).length + 5));
  for (let from = 0; from < m.periods.length; from += COLUMNS_PER_BLOCK) {
    const block = m.periods.slice(from, from + COLUMNS_PER_BLOCK);
    // Column heads: the periods' last two digits, written downward so a month of days stays narrow.
    const heads = block.map((p) => p.slice(-2));
    print(`${''.padEnd(label)} ${block[0]} .. ${block.at(-1)}`);
    print(`${''.padEnd(label)} ${heads.map((h) => h[0]).join('')}`);
    print(`${''.padEnd(label)} ${heads.map((h) => h[1]).join('')}`);
    for (const game of m.games) {
      const row = block.map((p) => glyph(byKey.get(`${game}|${p}`)?.state ?? 'none', colour)).join('');
      print(`${`game ${game}`.padEnd(label)} ${row}`);
    }
  }
  const counts = CELL_STATES.map((s) => [s, m.cells.filter((c) => c.state === s).length] as const).filter(([s, n]) => n > 0 && s !== 'none');
  print(`${counts.map(([s, n]) => `${n} ${s}`).join(', ') || 'no cells'}`);
  print();
}

function glyph(state: CellState, colour: boolean): string {
  if (!colour) return GLYPH[state];
  return state === 'none' ? ' ' : `\u001b[${COLOUR[state]}m${state === 'ok' ? '■' : GLYPH[state]}\u001b[0m`;
}

function legend(colour: boolean): string {
  return `legend: ${CELL_STATES.filter((s) => s !== 'none').map((s) => `${glyph(s, colour)} ${s}`).join('  ')}  (blank: not due)`;
}
