/**
 * One writer per task and period, from the workflow side: claim the period
 * in the ledger, waiting with durable timers while another workflow writes it
 * (a scheduled run, a rerun); give it back when done, even when cancelled.
 */
import { CancellationScope, proxyActivities, setCurrentDetails, sleep } from '@temporalio/workflow';
import type { LedgerActivities, TaskPeriod } from '../activities/ledger';
import { retryPolicy } from '../core/retry';

const { claimTaskPeriod, releaseTaskPeriod } = proxyActivities<LedgerActivities>({
  startToCloseTimeout: '1 minute',
  retry: retryPolicy(10),
});

/** The longest wait between two claims of a held period. */
const MAX_WAIT_SECONDS = 30;

/** Wait until `holder` writes the task's period; polls fast first, so a period just given back is taken at once. */
export async function claimPeriod(run: TaskPeriod, holder: string): Promise<void> {
  for (let wait = 1; ; wait = Math.min(MAX_WAIT_SECONDS, wait * 2)) {
    const other = await claimTaskPeriod(run, holder);
    if (other === null) return;
    setCurrentDetails(`waiting for ${other} to finish writing ${run.task} ${run.period.key}`);
    await sleep(`${wait}s`);
  }
}

/** Give the period back; runs even in a cancelled workflow. */
export function releasePeriod(run: TaskPeriod, holder: string): Promise<void> {
  return CancellationScope.nonCancellable(() => releaseTaskPeriod(run, holder));
}
