/**
 * Reruns, retries and restores: the list and a rerun's page (per-period
 * table, live progress, diff, failed checks, restore), and the actions that
 * start them. Every rule and message is the CLI's, through the same client/
 * functions (planRerun, planRetry, startRerun, rerunImpact, planRestore,
 * startRestore): a dry run first, then the real thing on confirmation.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { checkReadyToRun } from '../../client/connect';
import { rerunImpact } from '../../client/dry-run';
import { scheduleCreated, taskMatrix } from '../../client/matrix';
import { planRerun, planRetry, runningReruns, startRerun } from '../../client/reruns';
import { planRestore, startRestore } from '../../client/restore';
import { isUserError, messageOf } from '../../core/errors';
import type { AnyTask } from '../../core/job';
import { cellsToRetry, periodsWithGames, type Cell } from '../../core/matrix';
import { listEnabledGames, listGames } from '../../store/games/registry';
import { getRerun, listReruns, type LedgerRerun } from '../../store/ledger/reruns';
import { readLedgerChecks } from '../../store/ledger/runs';
import { readDiff } from '../../store/reruns/backup';
import { countScope } from '../../store/reruns/impact';
import { rerunProgressQuery } from '../../workflows/messages';
import { restore } from '../../workflows/restore';
import { planSteps, type rerun, type RerunInput, type RerunResult } from '../../workflows/rerun';
import { captureWarnings as warnings, type ConsoleContext } from '../context';
import { about, ApiError } from '../errors';
import { consoleUser, parseGames, parseOnCheckError, parseParallel, parseTaskNames } from '../params';

const DIFF_PAGE = 500;
const DIFF_PAGE_MAX = 5000;

type Plan = RerunInput;

function planOf(r: LedgerRerun): Plan | undefined {
  return r.plan as Plan | undefined;
}

/** What the reruns list shows of a rerun: the CLI's columns (`gflow reruns`). */
function listed(r: LedgerRerun) {
  const tasks = planOf(r)?.tasks ?? [];
  const first = tasks.map((t) => t.range.first.key).sort()[0];
  const last = tasks.map((t) => t.range.last.key).sort().at(-1);
  const f = (r.filters ?? {}) as { games?: number[] };
  const cells = r.kind === 'retry' ? tasks.reduce((n, t) => n + (t.cells?.reduce((m, c) => m + c.games.length, 0) ?? 0), 0) : undefined;
  // The plan and summaries are large: the list leaves them out, the rerun's page reads them.
  const row = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'plan' && k !== 'summary' && k !== 'restoreSummary')) as Omit<LedgerRerun, 'plan' | 'summary' | 'restoreSummary'>;
  return { ...row, range: first === undefined ? undefined : first === last ? first : `${first}..${last}`, tasks: tasks.map((t) => t.task), games: f.games, ...(cells !== undefined && { cells }) };
}

export function rerunsRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { config, names } = ctx;

  const recordOf = async (id: string): Promise<LedgerRerun> => {
    const record = await getRerun(ctx.mysql, names, id);
    if (!record) throw new ApiError(404, `no rerun ${JSON.stringify(id)} in the ledger (see gflow reruns)`, 'rerun');
    return record;
  };

  app.get<{ Querystring: { job?: string; limit?: number } }>(
    '/api/reruns',
    { schema: { querystring: { type: 'object', properties: { job: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 10_000 } }, additionalProperties: false } } },
    async (request) => {
      const all = await listReruns(ctx.mysql, names, { ...(request.query.job && { job: request.query.job }), limit: request.query.limit ?? 200 });
      const links = ctx.links();
      return { reruns: all.map((r) => ({ ...listed(r), links: { workflow: links.workflow(r.rerunId) } })) };
    },
  );

  app.get<{ Params: { id: string } }>('/api/reruns/:id', async (request) => {
    const record = await recordOf(request.params.id);
    const plan = planOf(record);
    const links = ctx.links();
    const summary = record.summary as (RerunResult & { error?: string }) | undefined;
    const steps = plan ? planSteps(plan.tasks).map((s) => ({ task: s.plan.task, period: s.period.key, ...(s.games && { games: s.games }) })) : [];
    return {
      ...listed(record),
      summary,
      restoreSummary: record.restoreSummary,
      steps,
      links: {
        workflow: links.workflow(record.rerunId),
        restore: links.workflow(names.restoreId(record.rerunId)),
        period: links.workflow(`${record.rerunId}.`),
      },
    };
  });

  app.get<{ Params: { id: string } }>('/api/reruns/:id/progress', async (request) => {
    const id = request.params.id;
    const record = await getRerun(ctx.mysql, names, id);
    if (record && record.outcome !== 'running') return { state: record.outcome, finished: true, summary: record.summary };
    const client = await ctx.temporal();
    try {
      const progress = await client.workflow.getHandle<typeof rerun>(id).query(rerunProgressQuery);
      return { state: 'running', finished: false, progress };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError && !record) throw new ApiError(404, `no rerun ${JSON.stringify(id)} (neither in the ledger nor in Temporal)`, 'rerun');
      // Its first workflow task has not run yet, or it is continuing as new: the next poll will tell.
      return { state: record ? 'running' : 'starting', finished: false };
    }
  });

  app.get<{ Params: { id: string }; Querystring: { period?: string; games?: string; limit?: number } }>(
    '/api/reruns/:id/diff',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { period: { type: 'string' }, games: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: DIFF_PAGE_MAX } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const record = await recordOf(id);
      if (record.prunedAt) throw new ApiError(410, `rerun ${id} was pruned on ${record.prunedAt}: its diff is gone`, 'rerun');
      const games = parseGames(request.query.games);
      const summary = record.summary as RerunResult | undefined;
      // The pages are the rerun's periods; each says how many rows changed there.
      const periods = new Map<string, number>();
      for (const s of planSteps(planOf(record)?.tasks ?? [])) periods.set(s.period.key, 0);
      for (const p of summary?.periods ?? []) periods.set(p.period.key, (periods.get(p.period.key) ?? 0) + p.changed + p.added + p.removed);
      const keys = [...periods.keys()].sort();
      const period = request.query.period ?? keys.find((k) => (periods.get(k) ?? 0) > 0) ?? keys[0];
      if (period !== undefined && !periods.has(period)) throw new ApiError(400, `period ${period} is not a period of rerun ${id} (${keys[0]} .. ${keys.at(-1)})`, 'period');
      const limit = request.query.limit ?? DIFF_PAGE;
      const rows = period === undefined ? [] : await about('period', () => readDiff(ctx.mysql, names, id, { period, ...(games && { games }), limit: limit + 1 }));
      return {
        period,
        periods: keys.map((k) => ({ period: k, changes: periods.get(k) ?? 0 })),
        rows: rows.slice(0, limit),
        truncated: rows.length > limit,
        limit,
      };
    },
  );

  app.get<{ Params: { id: string } }>('/api/reruns/:id/checks', async (request) => {
    await recordOf(request.params.id);
    return { checks: await readLedgerChecks(ctx.mysql, names, { rerunId: request.params.id }) };
  });

  app.get<{ Params: { id: string }; Querystring: { period?: string } }>('/api/reruns/:id/restore', async (request) => {
    const id = request.params.id;
    const record = await recordOf(id);
    const restoreId = names.restoreId(id) + (request.query.period ? `.${request.query.period}` : '');
    const client = await ctx.temporal();
    const handle = client.workflow.getHandle<typeof restore>(restoreId);
    try {
      const d = await handle.describe();
      const state = d.status.name;
      return { restoreId, state, ...(state === 'COMPLETED' && { result: await handle.result() }), restoredAt: record.restoredAt, restoredBy: record.restoredBy, link: ctx.links().workflow(restoreId) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { restoreId, state: 'NONE', restoredAt: record.restoredAt, restoredBy: record.restoredBy, link: ctx.links().workflow(restoreId) };
      throw err;
    }
  });

  // ---- actions ----

  const startOrImpact = async (client: Client, input: RerunInput, tasks: readonly AnyTask[], dryRun: boolean) => {
    const others = await runningReruns(client, config, input.job);
    const steps = planSteps(input.tasks).length;
    if (dryRun) {
      const games = (await listEnabledGames(ctx.mysql, names)).length;
      const impact = await rerunImpact(ctx.mysql, names, input, new Map(tasks.map((t) => [t.name, t])), games);
      return { dryRun: true, rerunId: input.rerunId, kind: input.kind ?? 'rerun', periods: steps, impact, waitsFor: others };
    }
    const { log, said } = warnings();
    await checkReadyToRun(client, config, log);
    await startRerun(client, config, input);
    return { dryRun: false, rerunId: input.rerunId, kind: input.kind ?? 'rerun', periods: steps, waitsFor: others, warnings: said, links: { workflow: ctx.links().workflow(input.rerunId) } };
  };

  app.post<{ Body: { job: string; range: string; tasks?: string[]; games?: number[]; parallel?: number; dryRun?: boolean; reason?: string; onCheckError?: string } }>(
    '/api/reruns',
    {
      schema: {
        body: {
          type: 'object',
          required: ['job', 'range'],
          properties: {
            job: { type: 'string', minLength: 1, maxLength: 100 },
            range: { type: 'string', minLength: 1, maxLength: 64 },
            tasks: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 100 },
            games: { type: 'array', items: { type: 'integer' }, maxItems: 100_000 },
            parallel: { type: 'integer' },
            dryRun: { type: 'boolean' },
            reason: { type: 'string', maxLength: 1000 },
            onCheckError: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const b = request.body;
      const only = parseTaskNames(b.tasks);
      const all = ctx.tasks(b.job, only);
      // Without tasks, every task that can rerun, as `gflow restart -d` takes them.
      const tasks = only.length > 0 ? all : all.filter((t) => t.schedule.kind === 'calendar' && t.enableReExecute !== false);
      if (tasks.length === 0) {
        throw new ApiError(400, `no task of this job can be rerun (only calendar tasks that allow reruns); tasks: ${all.map((t) => t.name).join(', ')}`, 'tasks');
      }
      const games = parseGames(b.games);
      const filters = games ? { games } : {};
      const parallelism = parseParallel(b.parallel);
      const onCheckError = parseOnCheckError(b.onCheckError);
      const startedBy = await consoleUser(b.reason);
      let input: RerunInput;
      try {
        input = planRerun(config, { job: b.job, tasks, range: b.range, rangeLabel: 'range', filters, parallelism, maxPeriods: config.maxRerunPeriods, startedBy, ...(onCheckError && { onCheckError }) });
      } catch (err) {
        if (isUserError(err)) throw new ApiError(400, err.message, /^task /.test(err.message) ? 'tasks' : 'range');
        throw err;
      }
      if (games) {
        const known = new Set((await listGames(ctx.mysql, names)).map((g) => g.id));
        const unknown = games.filter((g) => !known.has(g));
        if (unknown.length > 0) throw new ApiError(400, `games: game ${unknown.join(', ')} not in the games registry (see gflow games list)`, 'games');
      }
      return startOrImpact(await ctx.temporal(), input, tasks, b.dryRun === true);
    },
  );

  app.post<{
    Body: { job: string; task?: string; tasks?: string[]; cells?: Array<{ period: string; games: number[] }>; which?: 'failed' | 'missing'; range?: string; games?: number[]; parallel?: number; dryRun?: boolean; reason?: string; onCheckError?: string };
  }>(
    '/api/retry',
    {
      schema: {
        body: {
          type: 'object',
          required: ['job'],
          properties: {
            job: { type: 'string', minLength: 1, maxLength: 100 },
            task: { type: 'string', minLength: 1, maxLength: 64 },
            tasks: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 100 },
            cells: {
              type: 'array',
              maxItems: 100_000,
              items: {
                type: 'object',
                required: ['period', 'games'],
                properties: { period: { type: 'string', maxLength: 16 }, games: { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 100_000 } },
                additionalProperties: false,
              },
            },
            which: { type: 'string', enum: ['failed', 'missing'] },
            range: { type: 'string', maxLength: 64 },
            games: { type: 'array', items: { type: 'integer' }, maxItems: 100_000 },
            parallel: { type: 'integer' },
            dryRun: { type: 'boolean' },
            reason: { type: 'string', maxLength: 1000 },
            onCheckError: { type: 'string' },
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const b = request.body;
      const client = await ctx.temporal();
      const parallelism = parseParallel(b.parallel);
      const onCheckError = parseOnCheckError(b.onCheckError);
      const startedBy = await consoleUser(b.reason);
      const matrixOf = async (task: AnyTask, range: string | undefined, games: readonly number[] | undefined) => {
        const created = await scheduleCreated(client, names, b.job, task.name);
        return about('range', () => taskMatrix(ctx.mysql, names, { job: b.job, task, zone: config.tz, maxPeriods: config.maxRerunPeriods, ...(range && { range }), ...(games && { games }) }, created));
      };
      let chosen: Array<{ task: AnyTask; cells: Array<{ period: string; games: number[] }> }>;
      let tasks: AnyTask[];
      if (b.cells !== undefined) {
        // Cells chosen on the task page: each must still need a retry (failed, partial or missing) when asked.
        if (b.task === undefined) throw new ApiError(400, 'task: cells belong to one task: name it', 'task');
        const task = ctx.tasks(b.job, [b.task])[0]!;
        tasks = [task];
        const asked = b.cells.map((c) => ({ period: c.period, games: parseGames(c.games, 'cells') ?? [] }));
        if (asked.length === 0) throw new ApiError(400, 'cells: choose at least one failed or missing cell', 'cells');
        const keys = asked.map((c) => c.period).sort();
        const allGames = [...new Set(asked.flatMap((c) => c.games))].sort((x, y) => x - y);
        const m = await matrixOf(task, `${keys[0]},${keys.at(-1)}`, allGames);
        const byKey = new Map(m.cells.map((c) => [`${c.game}|${c.period}`, c]));
        const wrong: string[] = [];
        const picked: Cell[] = [];
        for (const c of asked) {
          for (const g of c.games) {
            const cell = byKey.get(`${g}|${c.period}`);
            if (!cell || !(cell.state === 'failed' || cell.state === 'partial' || cell.state === 'missing')) wrong.push(`game ${g} ${c.period} (${cell?.state ?? 'not in the matrix'})`);
            else picked.push(cell);
          }
        }
        if (wrong.length > 0) throw new ApiError(400, `only failed or missing cells are retried; not: ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ''}`, 'cells');
        chosen = [{ task, cells: periodsWithGames(picked) }];
      } else {
        // As `gflow retry <job> --failed|--missing`: every rerunnable task's cells in that state.
        const which = b.which ?? 'failed';
        const only = parseTaskNames(b.tasks ?? (b.task ? [b.task] : undefined));
        tasks = ctx.tasks(b.job, only).filter((t) => only.length > 0 || (t.schedule.kind === 'calendar' && t.enableReExecute !== false));
        const games = parseGames(b.games);
        chosen = [];
        for (const task of tasks) chosen.push({ task, cells: periodsWithGames(cellsToRetry((await matrixOf(task, b.range, games)).cells, which)) });
      }
      const input = await about('cells', () => planRetry(config, { job: b.job, tasks: chosen, parallelism, startedBy, ...(onCheckError && { onCheckError }) }));
      return startOrImpact(client, input, tasks, b.dryRun === true);
    },
  );

  app.post<{ Params: { id: string }; Body: { period?: string; dryRun?: boolean; reason?: string } }>(
    '/api/reruns/:id/restore',
    {
      schema: {
        body: {
          type: 'object',
          properties: { period: { type: 'string', maxLength: 16 }, dryRun: { type: 'boolean' }, reason: { type: 'string', maxLength: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const b = request.body ?? {};
      await recordOf(id);
      const planned = await about('period', () => planRestore(ctx.mysql, config, id, (job) => ctx.tasks(job), b.period));
      const { record, steps, workflowId: restoreId } = planned;
      const tasks = ctx.tasks(planned.job);
      const summary = record.summary as RerunResult | undefined;
      const byName = new Map(tasks.map((t) => [t.name, t]));
      // Per step: the rows backed up (what comes back), and the rows in place now (what they replace).
      const rows = await Promise.all(
        steps.map(async (s) => {
          const done = summary?.periods?.find((p) => p.task === s.task && p.period.key === s.period.key);
          const now = await countScope(ctx.mysql, names, { period: s.period, tables: byName.get(s.task)?.reports ?? [], ...(s.games && { games: s.games }) });
          return { task: s.task, period: s.period.key, ...(s.games && { games: s.games }), putBack: done?.backedUp, replaced: now.reduce((n, t) => n + t.rows, 0) };
        }),
      );
      if (b.dryRun === true) return { dryRun: true, restoreId, steps: rows, restoredAt: record.restoredAt };
      const by = await consoleUser(b.reason);
      const client = await ctx.temporal();
      const { log, said } = warnings();
      await checkReadyToRun(client, config, log);
      await about('rerun', () => startRestore(client, config, planned, by, b.period));
      reply.code(202);
      return { dryRun: false, restoreId, steps: rows, warnings: said, links: { workflow: ctx.links().workflow(restoreId) } };
    },
  );

  app.post<{ Params: { id: string } }>('/api/reruns/:id/cancel', async (request) => {
    const id = request.params.id;
    const record = await recordOf(id);
    if (record.outcome !== 'running') throw new ApiError(400, `rerun ${id} is ${record.outcome}, not running`, 'rerun');
    const client = await ctx.temporal();
    try {
      await client.workflow.getHandle(id).cancel();
    } catch (err) {
      throw new ApiError(409, `rerun ${id}: ${messageOf(err)}`, 'rerun');
    }
    return { rerunId: id, action: 'cancel requested' };
  });
}
