/**
 * The activities of an analysis: compute its answer on a slave (recorded in
 * the ledger, cached and published in Redis), and deliver it to the reply
 * lists of the stream requests waiting for it. `computeAnswer` is also what
 * `ctx.ask` runs inside a task (pre-analysis).
 */
import { Context } from '@temporalio/activity';
import type { AnalysisAnswer, AnalysisContext, NormalParams } from '../core/analysis';
import { dayEnd, dayKeyOf } from '../core/day';
import { messageOf } from '../core/errors';
import type { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { JobRegistry } from '../infra/jobs';
import { withFields, type Logger } from '../infra/logger';
import type { Pool } from '../infra/mysql';
import type { Redis } from '../infra/redis';
import { storeAnswer } from '../store/analyses/answers';
import { answerRequest, type Reply } from '../store/analyses/requests';
import { dataSettings } from '../store/config/runtime-config';
import { gameResolver } from '../store/games/directory';
import { closeAnalysis, openAnalysis, type AnalysisOrigin } from '../store/ledger/analyses';
import { classify } from './failures';
import { whileBeating } from './heartbeat';

/** What an analysis workflow computes. */
export interface AnalysisInput {
  readonly prefix: string;
  /** `<job>.<analysis>`. */
  readonly analysis: string;
  readonly params: NormalParams;
  readonly origin: AnalysisOrigin;
  /** `user@host`, when a person asked. */
  readonly startedBy?: string;
  /** The analysis's `timeoutSeconds`, for the workflow's activity; absent in requests started before it was carried. */
  readonly timeoutSeconds?: number;
}

/** A stream request waiting for an answer: its entry and reply list. */
export interface Delivery {
  readonly entryId: string;
  readonly reply: string;
}

export interface AnalysisDependencies {
  readonly config: Config;
  readonly registry: JobRegistry;
  readonly names: Names;
  readonly redis: Redis;
  readonly mysql: Pool;
  readonly log: Logger;
}

/** Where a computation runs: the workflow's activity, or a task's item asking for it. */
export interface Computing {
  readonly workflowId: string;
  /** Unique per attempt at the same answer: a retried attempt finds its ledger row. */
  readonly execution: string;
  readonly heartbeat: (details?: unknown) => void;
  readonly signal: AbortSignal;
}

/**
 * Compute an analysis's answer, record it in the ledger, cache and publish
 * it. The parameters were parsed by whoever asked (they are the cache key).
 */
export async function computeAnswer(deps: AnalysisDependencies, input: AnalysisInput, where: Computing): Promise<AnalysisAnswer> {
  const { job, analysis } = deps.registry.analysis(input.analysis);
  const settings = (await dataSettings(deps.redis, deps.names)).analyses;
  const game = gameResolver({ redis: deps.redis, mysql: deps.mysql, names: deps.names, zone: deps.config.tz }, where.workflowId);
  const openUntil = await openDayEnd(input, analysis.days?.to, game, deps.config.tz);
  const log = deps.log.child(input.analysis);
  const fields = { analysis: input.analysis };
  const ctx: AnalysisContext = {
    job,
    analysis: analysis.name,
    redis: deps.redis,
    mysql: deps.mysql,
    game,
    names: deps.names,
    log: withFields(log, fields),
    heartbeat: where.heartbeat,
    signal: where.signal,
    provisional: openUntil !== undefined,
  };
  const ledgerId = await openAnalysis(deps.mysql, deps.names, {
    workflowId: where.workflowId,
    execution: where.execution,
    job,
    analysis: analysis.name,
    params: JSON.stringify(input.params),
    origin: input.origin,
    ...(input.startedBy && { startedBy: input.startedBy }),
    startedAt: Date.now(),
  });
  try {
    // Parsed params carry the declared types (the cast is compute's declared parameter type).
    const result = await analysis.compute(input.params as never, ctx);
    const answer: AnalysisAnswer = {
      id: where.workflowId,
      analysis: input.analysis,
      params: input.params,
      result: result === undefined ? null : result,
      provisional: openUntil !== undefined,
      computedAt: new Date().toISOString(),
      cached: false,
    };
    await storeAnswer(deps.redis, deps.names, answer, analysis.cacheSeconds ?? settings.cacheSeconds, openUntil);
    await closeAnalysis(deps.mysql, deps.names, ledgerId, { ok: true, provisional: answer.provisional, finishedAt: Date.now() });
    return answer;
  } catch (err) {
    await closeAnalysis(deps.mysql, deps.names, ledgerId, { ok: false, error: messageOf(err), finishedAt: Date.now() }).catch(() => undefined);
    throw err;
  }
}

/**
 * When the answer covers a day that has not ended (in the game's zone when
 * the analysis takes a game, else the installation's): the end of today,
 * after which the answer is stale. `undefined`: every day it covers is over.
 */
async function openDayEnd(input: AnalysisInput, toParam: string | undefined, game: AnalysisContext['game'], tz: string, now = Date.now()): Promise<number | undefined> {
  const to = toParam === undefined ? undefined : input.params[toParam];
  if (typeof to !== 'string') return undefined;
  const zone = typeof input.params.game === 'number' ? (await game(input.params.game)).zone : tz;
  const today = dayKeyOf(now, zone);
  return to >= today ? dayEnd(today, zone) : undefined;
}

export function createAnalysisActivities(deps: AnalysisDependencies) {
  return {
    /** The workflow's computation: the answer, or a non-retryable failure for bad requests. */
    async computeAnalysis(input: AnalysisInput): Promise<AnalysisAnswer> {
      const activity = Context.current();
      const info = activity.info;
      try {
        return await whileBeating(() =>
          computeAnswer(deps, input, {
            workflowId: info.workflowExecution?.workflowId ?? info.activityId,
            execution: info.workflowExecution?.runId ?? String(info.attempt),
            heartbeat: (d) => activity.heartbeat(d),
            signal: activity.cancellationSignal,
          }),
        );
      } catch (err) {
        classify(err);
      }
    },

    /** Push the answer (or the error) to each waiting stream request's reply list, once each, and acknowledge them. */
    async deliverReplies(deliveries: readonly Delivery[], outcome: { readonly ok: true; readonly answer: AnalysisAnswer } | { readonly ok: false; readonly error: string; readonly id: string }): Promise<void> {
      for (const d of deliveries) {
        const reply: Reply = outcome.ok ? { ok: true, ...outcome.answer } : { id: outcome.id, ok: false, error: outcome.error };
        await answerRequest(deps.redis, deps.names, d.entryId, d.reply, reply);
      }
    },
  };
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;

