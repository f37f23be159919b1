/**
 * `ctx.ask` inside a task: an analysis's answer from the cache, or computed
 * in the asking activity itself (a task already runs on a slave: starting a
 * workflow to wait on would only add a round trip). Pre-analysis tasks ask
 * with `refresh`, so the cache is renewed every time they run.
 */
import type { AnalysisAnswer, RawParams } from '../core/analysis';
import { computeAnswer, type AnalysisDependencies, type Computing } from '../activities/analysis';
import { prepareAsk } from '../client/analyses';
import { cachedAnswer } from '../store/analyses/answers';

export function askInProcess(deps: AnalysisDependencies) {
  return async (analysis: string, params: RawParams, options: { readonly refresh?: boolean }, where: Computing): Promise<AnalysisAnswer> => {
    const prepared = await prepareAsk(deps, analysis, params);
    if (!options.refresh) {
      const cached = await cachedAnswer(deps.redis, deps.names, prepared.name, prepared.params);
      if (cached) return cached;
    }
    const input = { prefix: deps.config.prefix, analysis: prepared.name, params: prepared.params, origin: 'task' as const };
    // The ledger row is the analysis's (its id), computed by this task's activity.
    return computeAnswer(deps, input, { ...where, workflowId: prepared.id, execution: `${where.workflowId}/${where.execution}` });
  };
}
