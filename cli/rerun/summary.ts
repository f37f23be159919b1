/** The table a rerun ends with: per period, what changed and what failed. */
import type { RerunResult } from '../../workflows/rerun';
import { print, printTable } from '../context';

export function printRerunSummary(result: RerunResult): void {
  printTable(
    ['task', 'period', 'changed', 'added', 'removed', 'checks failed', 'warnings', 'games failed'],
    result.periods.map((p) => [
      p.task,
      p.period.key,
      p.changed,
      p.added,
      p.removed,
      p.checkErrors,
      p.checkWarnings,
      p.error ? `period failed: ${p.error}` : [...p.gamesFailed, ...(p.rolledBack ? ['rolled back'] : [])].join(', ') || '-',
    ]),
  );
  const sum = (f: (p: RerunResult['periods'][number]) => number) => result.periods.reduce((n, p) => n + f(p), 0);
  print();
  print(
    `${result.kind ?? 'rerun'} ${result.rerunId}: ${result.periods.length} period${result.periods.length === 1 ? '' : 's'} in ${(result.durationMs / 1000).toFixed(1)} s; ` +
      `rows changed ${sum((p) => p.changed)}, added ${sum((p) => p.added)}, removed ${sum((p) => p.removed)}; ` +
      `checks failed ${sum((p) => p.checkErrors)}; games failed ${sum((p) => p.gamesFailed.length)}` +
      (result.ok ? '' : ' — NOT all succeeded'),
  );
}
