/**
 * Analyses over HTTP (README "Analyses"), for front ends:
 *
 * - `POST /api/analyses` `{"analysis": "report.retention", "params": {…}, "wait": true}`
 *   asks one as `gflow ask` does (client/analyses): a bad request is refused
 *   with a 400 naming the field before anything runs; the answer comes from
 *   the cache (200), or the analysis workflow computes it (200 once done
 *   with `wait`, else 202 and a `Location` to poll). An action like the
 *   console's others: the token, the header, JSON only (./security.ts).
 * - `GET /api/analyses/<id>`: where a request stands (done with its answer,
 *   running, failed with the error); 404 for an id that is not an analysis.
 * - `GET /api/analyses`: the analyses the jobs declare, with their parameters.
 * - `GET /api/analyses/recent?job=&analysis=&outcome=&limit=`: the ledger's
 *   computations, newest first, as `gflow analyses` lists them (the same
 *   store function, the same rules for the values: a 400 naming the field).
 *
 * Reads are open, as every GET of the console.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { answerOf, ask, prepareAsk, type AskDependencies, type AskState } from '../../client/analyses';
import { analysisListFilter, type RawAnalysisListFilter } from '../../client/analysis-history';
import { getRedis } from '../../infra/redis';
import { startedBy } from '../../infra/who';
import { cachedAnswer } from '../../store/analyses/answers';
import { dataSettings } from '../../store/config/runtime-config';
import { listAnalyses } from '../../store/ledger/analyses';
import type { analysisRun } from '../../workflows/analysis';
import type { ConsoleContext } from '../context';
import { ApiError } from '../errors';

/**
 * How long `"wait": true` holds the request: past it the answer is 202 and
 * the analysis goes on computing (poll its `Location`), so no proxy in
 * between times out first.
 */
export const WAIT_SECONDS = 60;

const BODY_FIELDS: ReadonlySet<string> = new Set(['analysis', 'params', 'wait']);

export function analysesRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { config } = ctx;

  const dependencies = (): AskDependencies => {
    const registry = ctx.jobs();
    if (!registry) throw new ApiError(400, `no analyses: there is no jobs folder at ${config.jobsDir}`, 'analysis');
    // The process's one client for the URL, connected on first use: the console's other pages need no Redis.
    return { config, registry, redis: getRedis(config.redisUrl) };
  };

  /** The answer's body; `self` is where to ask again. */
  const shown = (reply: FastifyReply, state: AskState, { accepted }: { readonly accepted: boolean }) => {
    const id = state.status === 'done' ? state.answer.id : state.id;
    const links = { self: `/api/analyses/${encodeURIComponent(id)}`, workflow: ctx.links().workflow(id) };
    if (state.status === 'done') return { id, status: state.status, answer: state.answer, links };
    if (state.status === 'failed') return { id, status: state.status, error: state.error, links };
    if (accepted) reply.code(202).header('location', links.self);
    return { id, status: state.status, links };
  };

  app.get('/api/analyses', async () => {
    const jobs = ctx.jobs()?.list() ?? [];
    const declared = jobs.flatMap((job) => (job.analyses ?? []).map((analysis) => ({ job: job.name, analysis })));
    // The installation's defaults, for analyses that set none (read only when there is one to show).
    const settings = declared.length > 0 ? (await dataSettings(getRedis(config.redisUrl), ctx.names)).analyses : undefined;
    return {
      analyses: declared.map(({ job, analysis: a }) => ({
        name: `${job}.${a.name}`,
        job,
        analysis: a.name,
        description: a.description ?? null,
        params: Object.entries(a.params).map(([name, p]) => ({ name, kind: p.kind, expected: p.expected, optional: p.optional })),
        days: a.days ? { from: a.days.from, to: a.days.to, maxDays: a.days.maxDays ?? settings!.maxDays } : null,
        cacheSeconds: a.cacheSeconds ?? settings!.cacheSeconds,
        precompute: a.precompute ? { atExecute: a.precompute.atExecute } : null,
      })),
    };
  });

  app.get<{ Querystring: RawAnalysisListFilter }>(
    '/api/analyses/recent',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { job: { type: 'string' }, analysis: { type: 'string' }, outcome: { type: 'string' }, limit: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      // By the rules `gflow analyses` applies to its options; a refused value is a 400 naming its field (errors.ts).
      const computations = await listAnalyses(ctx.mysql, ctx.names, analysisListFilter(request.query, (field) => field));
      const links = ctx.links();
      return { computations: computations.map((c) => ({ ...c, links: { workflow: links.workflow(c.workflowId) } })) };
    },
  );

  app.post('/api/analyses', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'the body must be a JSON object: {"analysis": "<job>.<analysis>", "params": {…}, "wait": true}', 'body');
    }
    const b = body as Record<string, unknown>;
    // An unknown field is refused, as by the other actions: a typo must not ask something else.
    const unknown = Object.keys(b).find((k) => !BODY_FIELDS.has(k));
    if (unknown !== undefined) throw new ApiError(400, `unknown field ${unknown}`, unknown);
    if (b.wait !== undefined && typeof b.wait !== 'boolean') throw new ApiError(400, `wait ${JSON.stringify(b.wait)}: expected true or false`, 'wait');
    const deps = dependencies();
    // A refused parameter is a 400 naming its field (console/errors.ts).
    const prepared = await prepareAsk(deps, b.analysis, b.params);
    // A cached answer needs no Temporal: front ends are answered from the cache while it is down.
    const cached = await cachedAnswer(deps.redis, ctx.names, prepared.name, prepared.params);
    if (cached) return shown(reply, { status: 'done', answer: cached }, { accepted: true });
    const client = await ctx.temporal();
    // Who asked, as the console's other actions record it: its OS user and host, via the console.
    const by = startedBy();
    let state = await ask(client, deps, prepared, { origin: 'http', startedBy: `${by.user}@${by.host} via console`, wait: false });
    if (state.status === 'running' && b.wait === true) state = await waitFor(client, state.id, reply);
    return shown(reply, state, { accepted: true });
  });

  app.get<{ Params: { id: string } }>('/api/analyses/:id', async (request, reply) => {
    const { id } = request.params;
    const notFound = () => new ApiError(404, `no analysis request ${JSON.stringify(id)} (its id is in the answer to POST /api/analyses; Temporal keeps it for the namespace's retention)`, 'id');
    // This installation's requests only: their ids start with its prefix.
    if (!id.startsWith(`${config.prefix}.`)) throw notFound();
    const client = await ctx.temporal();
    try {
      return shown(reply, await answerOf(client, id, { wait: false }), { accepted: false });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound();
      throw err;
    }
  });
}

/**
 * The answer of the workflow `id` once it ends, or its state after
 * {@link WAIT_SECONDS} (or when the caller hangs up): running, then.
 */
async function waitFor(client: Client, id: string, reply: FastifyReply): Promise<AskState> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), WAIT_SECONDS * 1000);
  const gone = () => stop.abort();
  reply.raw.once('close', gone);
  try {
    const answer = await client.withAbortSignal(stop.signal, () => client.workflow.getHandle<typeof analysisRun>(id).result());
    return { status: 'done', answer };
  } catch {
    // It failed, or the wait ended first: Temporal says which.
    return answerOf(client, id, { wait: false });
  } finally {
    clearTimeout(timer);
    reply.raw.off('close', gone);
  }
}

