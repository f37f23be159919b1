/**
 * `gflow reruns [id]`: reruns and retries as the ledger records them (range,
 * tasks, filters, who, why, outcome, restored or not), long after Temporal's
 * retention; a running one's live progress; its failed checks; cancel; and
 * `gflow reruns prune` for old backups and diffs.
 */
import { Command } from 'commander';
import { usageError } from '../../core/errors';
import { parseAge } from '../../core/parse';
import { segmentOfRun } from '../../core/job';
import type { LedgerRerun } from '../../store/ledger/reruns';
import type { rerun, RerunInput, RerunResult } from '../../workflows/rerun';
import { cliContext, lazyImport, print, printJson, printTable } from '../context';
import { printRerunSummary } from '../rerun/summary';
import { itemsInRunningPeriods, watchRerun } from '../rerun/watch';

interface RerunsOptions {
  job?: string;
  watch?: boolean;
  cancel?: boolean;
  checks?: boolean;
  json?: boolean;
}

export function rerunsCommand(): Command {
  const command = new Command('reruns')
    .description('list reruns; with an id, show its progress or summary')
    .argument('[rerun]', 'a rerun id')
    .option('-j, --job <job>', 'only reruns of this job')
    .option('--watch', 'follow a running rerun until it ends')
    .option('--cancel', 'cancel a running rerun (backups and diffs made so far stay)')
    .option('--checks', "list the rerun's failed checks with the offending values")
    .option('--json', 'print as JSON')
    .addHelpText('after', `
Examples:
  $ gflow reruns
  $ gflow reruns gflow.report.rerun-20261125014500-ab12 --watch
  $ gflow reruns gflow.report.rerun-20261125014500-ab12 --checks
  $ gflow reruns gflow.report.rerun-20261125014500-ab12 --cancel
  $ gflow reruns prune --older-than 90d`)
    .action(async function (this: Command, id: string | undefined, options: RerunsOptions) {
      const { config } = cliContext(this);
      if (!id && (options.watch || options.cancel || options.checks)) throw usageError('--watch, --cancel and --checks need a rerun id (see gflow reruns)');
      const { Names } = lazyImport('core/names');
      const names = new Names(config.prefix);
      const mysql = lazyImport('infra/mysql').getMysql(config.mysqlUrl);
      const { getRerun, listReruns } = lazyImport('store/ledger/reruns');
      if (!id) {
        const all = await listReruns(mysql, names, { ...(options.job && { job: options.job }) });
        if (options.json) return printJson(all.map(({ plan: _plan, summary: _summary, ...row }) => row));
        if (all.length === 0) return print(options.job ? `no reruns of job ${options.job} in the ledger` : 'no reruns');
        return printTable(
          ['rerun', 'kind', 'range', 'tasks', 'filters', 'who', 'why', 'outcome', 'started', 'restored'],
          all.map((r) => [r.rerunId, r.kind, rangeOf(r), tasksOf(r), filtersOf(r), r.startedBy ?? '-', r.reason ?? '-', r.prunedAt ? `${r.outcome} (pruned)` : r.outcome, r.startedAt, r.restoredAt ?? '-']),
        );
      }
      const record = await getRerun(mysql, names, id);
      if (!record) throw usageError(`no rerun ${JSON.stringify(id)} in the ledger (see gflow reruns)`);
      if (options.checks) return printChecks(config.mysqlUrl, names, id, options.json);
      if (record.outcome !== 'running' && !options.cancel) return printRecorded(record, options.json);
      const { rerunProgressQuery } = lazyImport('workflows/messages');
      await lazyImport('client/connect').withClient(config, async (client) => {
        const handle = client.workflow.getHandle<typeof rerun>(id);
        if (options.cancel) {
          if (record.outcome !== 'running') throw usageError(`rerun ${id} is ${record.outcome}, not running`);
          await handle.cancel();
          return print(`rerun ${id}: cancel requested`);
        }
        if (options.watch) {
          const outcome = await watchRerun(handle);
          if (outcome.kind === 'finished') return options.json ? printJson(outcome.result) : printRerunSummary(outcome.result);
          return;
        }
        const p = await handle.query(rerunProgressQuery);
        const items = await itemsInRunningPeriods(handle, p.running);
        if (options.json) return printJson({ ...p, itemsInRunningPeriods: items });
        const inFlight = items.total > 0 ? ` (+ ${items.done}/${items.total} games in the ${p.running.length} running)` : '';
        return print(`rerun ${id} is running: ${p.done}/${p.total} periods done${inFlight}, ${p.gamesFailed} games failed, ${p.checksFailed} checks failed (--watch to follow)`);
      });
    });
  command
    .command('prune')
    .description('delete the backups and diffs of old reruns (their ledger rows stay, marked pruned)')
    .requiredOption('--older-than <age>', 'reruns started longer ago than this: 90d, 12h, 30m, 2w')
    .option('--json', 'print what was pruned as JSON')
    .addHelpText('after', `
Examples:
  $ gflow reruns prune --older-than 90d

A rerun still running is never pruned; a pruned rerun cannot be restored.`)
    .action(async function (this: Command, options: { olderThan: string }) {
      const age = parseAge(options.olderThan, '--older-than');
      // `gflow reruns` has a --json of its own, and commander gives it `prune … --json` wherever it stands.
      const json = this.optsWithGlobals<{ json?: boolean }>().json;
      const { config } = cliContext(this);
      const { Names } = lazyImport('core/names');
      const now = Date.now();
      const result = await lazyImport('store/ledger/reruns').pruneReruns(lazyImport('infra/mysql').getMysql(config.mysqlUrl), new Names(config.prefix), now - age, now);
      if (json) return printJson(result);
      print(`pruned ${result.pruned.length} reruns (${result.rowsDeleted} backup and diff rows deleted)`);
      if (result.stillRunning.length > 0) print(`not pruned, still running: ${result.stillRunning.join(', ')}`);
    });
  return command;
}

function plannedTasks(r: LedgerRerun): RerunInput['tasks'] {
  return ((r.plan as RerunInput | undefined)?.tasks ?? []) as RerunInput['tasks'];
}

function rangeOf(r: LedgerRerun): string {
  const tasks = plannedTasks(r);
  const first = tasks.map((t) => t.range.first.key).sort()[0];
  const last = tasks.map((t) => t.range.last.key).sort().at(-1);
  return first === undefined ? '-' : first === last ? first : `${first}..${last}`;
}

function tasksOf(r: LedgerRerun): string {
  return plannedTasks(r).map((t) => t.task).join(',') || '-';
}

function filtersOf(r: LedgerRerun): string {
  const f = (r.filters ?? {}) as { games?: number[]; servers?: { from: number; to: number }; channel?: string };
  const segment = segmentOfRun(f);
  const parts = [...(f.games ? [`-g ${f.games.join(',')}`] : []), ...(segment ? [segment] : [])];
  if (r.kind === 'retry') parts.push(`${plannedTasks(r).reduce((n, t) => n + (t.cells?.reduce((m, c) => m + c.games.length, 0) ?? 0), 0)} cells`);
  return parts.join(' ') || '-';
}

function printRecorded(record: LedgerRerun, json: boolean | undefined): void {
  const result = record.summary as (RerunResult & { error?: string }) | undefined;
  if (json) return printJson({ ...record, plan: undefined, summary: result });
  if (result?.periods) printRerunSummary(result);
  else print(`rerun ${record.rerunId} is ${record.outcome}${result?.error ? `: ${result.error}` : ''}`);
  print(`${record.kind} by ${record.startedBy ?? '?'}${record.reason ? ` (${record.reason})` : ''}, ${record.outcome}${record.restoredAt ? `; restored ${record.restoredAt} by ${record.restoredBy ?? '?'}` : ''}${record.prunedAt ? `; pruned ${record.prunedAt}` : ''}`);
}

async function printChecks(mysqlUrl: string, names: import('../../core/names').Names, rerunId: string, json: boolean | undefined): Promise<void> {
  const checks = await lazyImport('store/ledger/runs').readLedgerChecks(lazyImport('infra/mysql').getMysql(mysqlUrl), names, { rerunId });
  if (json) return printJson(checks);
  if (checks.length === 0) return print(`rerun ${rerunId}: every check passed`);
  printTable(
    ['task', 'period', 'severity', 'table', 'game', 'check', 'offending values'],
    checks.map((c) => [c.task, c.period, c.severity, c.table, c.game ?? '-', c.check, c.detail]),
  );
}
