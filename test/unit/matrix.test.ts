/** Folding the ledger's runs and items into the games × periods matrix. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cellsToRetry, foldMatrix, periodsWithGames, type ItemRow, type RunRow } from '../../core/matrix';
import type { Outcome } from '../../core/outcome';

const run = (runId: number, periodKey: string, outcome: Outcome, error?: string): RunRow => ({ runId, workflowId: `w${runId}`, periodKey, outcome, startedAt: `t${runId}`, ...(error && { error }) });
const item = (runId: number, periodKey: string, game: number, outcome: ItemRow['outcome'], checkErrors = 0): ItemRow => ({
  runId,
  workflowId: `w${runId}`,
  periodKey,
  game,
  outcome,
  ...(outcome === 'failed' && { error: `boom ${game}` }),
  checkErrors,
});
const stateOf = (cells: ReturnType<typeof foldMatrix>) => cells.map((c) => `${c.game}@${c.period}:${c.state}`);

describe('foldMatrix', () => {
  test('the latest run that covered a game decides its cell: a retry turns a failure green', () => {
    const cells = foldMatrix({
      games: [1, 2],
      periods: ['d1'],
      due: new Set(['d1']),
      runs: [run(1, 'd1', 'partial'), run(2, 'd1', 'ok')],
      items: [item(1, 'd1', 1, 'ok'), item(1, 'd1', 2, 'failed'), item(2, 'd1', 2, 'ok')],
    });
    assert.deepEqual(stateOf(cells), ['1@d1:ok', '2@d1:ok']);
  });

  test('running, failed runs without items, partial by checks, missing only when due', () => {
    const cells = foldMatrix({
      games: [1],
      periods: ['d1', 'd2', 'd3', 'd4', 'd5'],
      due: new Set(['d1', 'd2', 'd3', 'd4']),
      runs: [run(1, 'd1', 'running'), run(2, 'd2', 'failed', 'mapTask threw'), run(3, 'd3', 'ok')],
      items: [item(3, 'd3', 1, 'ok', 2)],
    });
    assert.deepEqual(stateOf(cells), ['1@d1:running', '1@d2:failed', '1@d3:partial', '1@d4:missing', '1@d5:none']);
    assert.equal(cells[1]!.error, 'mapTask threw');
  });

  test('a cancelled or timed-out run fails the games it had not finished, not those it had', () => {
    const cells = foldMatrix({ games: [1, 2], periods: ['d1'], due: new Set(), runs: [run(1, 'd1', 'cancelled')], items: [item(1, 'd1', 1, 'ok'), item(1, 'd1', 2, 'cancelled')] });
    assert.deepEqual(stateOf(cells), ['1@d1:ok', '2@d1:failed']);
  });

  test('a skipped firing never hides the run that had the period', () => {
    const cells = foldMatrix({ games: [1], periods: ['d1', 'd2'], due: new Set(['d1', 'd2']), runs: [run(1, 'd1', 'running'), run(2, 'd1', 'skipped'), run(3, 'd2', 'skipped')], items: [] });
    assert.deepEqual(stateOf(cells), ['1@d1:running', '1@d2:skipped']);
  });

  test('the cells to retry, grouped by period with their games', () => {
    const cells = foldMatrix({
      games: [1, 2, 3],
      periods: ['d1', 'd2'],
      due: new Set(['d1', 'd2']),
      runs: [run(1, 'd1', 'partial')],
      items: [item(1, 'd1', 1, 'ok'), item(1, 'd1', 2, 'failed'), item(1, 'd1', 3, 'ok', 1)],
    });
    assert.deepEqual(periodsWithGames(cellsToRetry(cells, 'failed')), [{ period: 'd1', games: [2, 3] }]);
    assert.deepEqual(periodsWithGames(cellsToRetry(cells, 'missing')), [{ period: 'd2', games: [1, 2, 3] }]);
  });
});
