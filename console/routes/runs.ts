/**
 * The task page's reads: a task's games × periods matrix (client/matrix.ts,
 * as `gflow status` shows it), and the run behind a cell with its items,
 * errors, failed checks (with the offending values), durations and slaves.
 */
import type { FastifyInstance } from 'fastify';
import { scheduleCreated, taskMatrix } from '../../client/matrix';
import { listGames } from '../../store/games/registry';
import { listRuns, readLedgerChecks, runItems, type LedgerRun } from '../../store/ledger/runs';
import type { ConsoleContext } from '../context';
import { about, ApiError } from '../errors';
import { compactMatrix } from '../matrix';
import { parseGames } from '../params';

/** Epoch ms of a ledger time (UTC `YYYY-MM-DD HH:MM:SS.sss`). */
export function ledgerMs(time: string | undefined): number | undefined {
  if (time === undefined) return undefined;
  const ms = Date.parse(`${time.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

export function runsRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { config, names } = ctx;

  app.get<{ Params: { job: string; task: string }; Querystring: { range?: string; games?: string } }>('/api/jobs/:job/tasks/:task/matrix', async (request, reply) => {
    const started = performance.now();
    const { job } = request.params;
    const task = ctx.tasks(job, [request.params.task])[0]!;
    const games = parseGames(request.query.games);
    const temporal = await ctx.temporalOrReason();
    const createdAt = 'client' in temporal ? await scheduleCreated(temporal.client, names, job, task.name) : undefined;
    const [m, registered] = await Promise.all([
      about(request.query.range ? 'range' : 'task', () =>
        taskMatrix(ctx.mysql, names, { job, task, zone: config.tz, maxPeriods: config.maxRerunPeriods, ...(request.query.range && { range: request.query.range }), ...(games && { games }) }, createdAt),
      ),
      listGames(ctx.mysql, names),
    ]);
    const links = ctx.links();
    reply.header('server-timing', `matrix;dur=${(performance.now() - started).toFixed(1)}`);
    return {
      ...compactMatrix(m, new Map(registered.map((g) => [g.id, g.name]))),
      ...('reason' in temporal && { temporal: { ok: false, reason: `${temporal.reason}: the schedule's start is unknown, so no cell shows missing` } }),
      links: { runs: links.query(names.runsQuery(job, { tasks: [task.name] })), workflow: links.workflow('') },
    };
  });

  app.get<{ Params: { job: string; task: string; period: string }; Querystring: { workflowId?: string; game?: string } }>('/api/jobs/:job/tasks/:task/periods/:period/run', async (request) => {
    const { job, period } = request.params;
    const task = ctx.tasks(job, [request.params.task])[0]!;
    const runs = await listRuns(ctx.mysql, names, { job, task: task.name, periodKey: period, limit: 200 });
    const wanted = request.query.workflowId;
    // The cell's run: the latest over whole games (a segment's run, -s / -c, does not decide the cell, as the matrix shows).
    const run = wanted === undefined ? runs.find((r) => r.segment === undefined) : runs.find((r) => r.workflowId === wanted);
    if (!run) {
      const segments = runs.filter((r) => r.segment !== undefined);
      const only = wanted === undefined && segments.length > 0 ? ` over whole games (only runs of a segment: ${segments.map((r) => `${r.workflowId} ${r.segment}`).join('; ')})` : '';
      throw new ApiError(404, `no run of ${job}.${task.name} for period ${period}${wanted === undefined ? '' : ` with id ${wanted}`}${only} in the ledger`, 'period');
    }
    return {
      ...(await runDetail(ctx, run)),
      earlier: runs.filter((r) => r.id !== run.id).map((r) => ({ id: r.id, workflowId: r.workflowId, origin: r.origin, outcome: r.outcome, startedAt: r.startedAt, ...(r.segment && { segment: r.segment }) })),
    };
  });

  app.get<{ Querystring: { job?: string; task?: string; period?: string; rerun?: string; limit?: number } }>(
    '/api/runs',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { job: { type: 'string' }, task: { type: 'string' }, period: { type: 'string' }, rerun: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 5000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const runs = await listRuns(ctx.mysql, names, { ...(q.job && { job: q.job }), ...(q.task && { task: q.task }), ...(q.period && { periodKey: q.period }), ...(q.rerun && { rerunId: q.rerun }), limit: q.limit ?? 200 });
      const links = ctx.links();
      return { runs: runs.map((r) => ({ ...r, durationMs: durationOf(r), links: { workflow: links.workflow(r.workflowId) } })) };
    },
  );
}

function durationOf(run: LedgerRun): number | undefined {
  const [a, b] = [ledgerMs(run.startedAt), ledgerMs(run.finishedAt)];
  return a === undefined || b === undefined ? undefined : b - a;
}

/** One run as the ledger holds it, with its items and failed checks. */
export async function runDetail(ctx: ConsoleContext, run: LedgerRun) {
  const [items, checks] = await Promise.all([runItems(ctx.mysql, ctx.names, run.id), readLedgerChecks(ctx.mysql, ctx.names, { runId: run.id })]);
  const links = ctx.links();
  return {
    run: { ...run, durationMs: durationOf(run) },
    items,
    checks,
    slaves: [...new Set(items.flatMap((i) => (i.slave ? [i.slave] : [])))].sort(),
    links: { workflow: links.workflow(run.workflowId), ...(run.rerunId && { rerun: links.workflow(run.rerunId) }) },
  };
}
