/**
 * Raising alerts from workflows: one `notify` per incident, whatever the
 * number of games. An alert that cannot be delivered after its retries is
 * logged and dropped: it must never fail the run it reports on.
 */
import { isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { createAlertActivities, Incident } from '../activities/alerts';
import { retryPolicy } from '../core/retry';

const { notify } = proxyActivities<ReturnType<typeof createAlertActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: retryPolicy(6, { initialInterval: '2s', backoffCoefficient: 2 }),
});

export async function raise(incident: Incident): Promise<void> {
  try {
    await notify(incident);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.error('alert not delivered', { kind: incident.kind, runId: incident.runId, error: (err as Error).message });
  }
}
