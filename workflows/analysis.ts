/**
 * One analysis request (or several identical ones): compute the answer on a
 * slave, then deliver it to every stream request that joined while it ran
 * (the `replyTo` signal; `signalWithStart` either starts this workflow or
 * joins the one running under the same id, which the parameters decide).
 * An answer that fails is delivered as an error reply: a waiting front end
 * never hears silence. The workflow's result is the answer, for `gflow ask
 * --wait` and `GET /api/analyses/<id>`.
 */
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AnalysisActivities, AnalysisInput, Delivery } from '../activities/analysis';
import type { AnalysisAnswer } from '../core/analysis';
import { retryPolicy, USER_ERROR } from '../core/retry';
import { failureMessage } from './failures';
import { replyToSignal } from './messages';

/** The compute, bounded by the analysis's own time limit (10 minutes for a request from before it was carried). */
function computing(input: AnalysisInput): AnalysisActivities['computeAnalysis'] {
  return proxyActivities<AnalysisActivities>({
    startToCloseTimeout: `${input.timeoutSeconds ?? 600} seconds`,
    heartbeatTimeout: '1 minute',
    retry: retryPolicy(3),
  }).computeAnalysis;
}

const { deliverReplies } = proxyActivities<AnalysisActivities>({
  startToCloseTimeout: '1 minute',
  retry: retryPolicy(20),
});

export async function analysisRun(input: AnalysisInput): Promise<AnalysisAnswer> {
  const waiting = new Map<string, Delivery>();
  const answered = new Set<string>();
  // A request re-claimed from a dead slave signals again: one entry is one reply.
  setHandler(replyToSignal, (d) => {
    if (!answered.has(d.entryId)) waiting.set(d.entryId, d);
  });

  let outcome: Parameters<AnalysisActivities['deliverReplies']>[1];
  let failure: unknown;
  try {
    outcome = { ok: true, answer: await computing(input)(input) };
  } catch (err) {
    failure = err;
    outcome = { ok: false, id: workflowInfo().workflowId, error: isCancellation(err) ? 'the analysis was cancelled' : failureMessage(err) };
  }
  await CancellationScope.nonCancellable(async () => {
    // Signals that arrive while replies are being pushed are answered in the next round.
    while (waiting.size > 0) {
      const batch = [...waiting.values()];
      for (const d of batch) {
        waiting.delete(d.entryId);
        answered.add(d.entryId);
      }
      await deliverReplies(batch, outcome);
    }
  });
  if (failure !== undefined) {
    if (isCancellation(failure)) throw failure;
    throw ApplicationFailure.create({ message: failureMessage(failure), type: USER_ERROR, nonRetryable: true });
  }
  return (outcome as { answer: AnalysisAnswer }).answer;
}
