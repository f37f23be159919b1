/**
 * The overview's reads: the installation (connections without passwords),
 * jobs and tasks with schedule state, next fire times and last runs, live
 * slaves with their code versions, the incidents of the last day, and the
 * games registry. Temporal's part is left out (and said so) while Temporal
 * is down; the ledger's part still shows.
 */
import type { FastifyInstance } from 'fastify';
import { version } from '../../package.json';
import { lastRuns, StatusReader } from '../../client/status';
import type { AnyTask } from '../../core/job';
import { describeSchedule } from '../../core/schedule';
import { redact } from '../../infra/config';
import { temporalAddress } from '../../infra/temporal';
import { listGames, publicGame } from '../../store/games/registry';
import { computeBuildId } from '../../worker/build-id';
import type { ConsoleContext } from '../context';
import { recentIncidents } from '../incidents';

const DAY_MS = 86_400_000;

export function overviewRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { config, names } = ctx;

  app.get('/api/info', async () => ({
    version,
    prefix: config.prefix,
    tz: config.tz,
    temporal: { address: temporalAddress(config), namespace: config.temporalNamespace, ui: ctx.temporalUi },
    redis: redact(config.redisUrl),
    mysql: redact(config.mysqlUrl),
    jobsDir: config.jobsDir,
    actions: ctx.policy,
    links: { allRuns: ctx.links().query(`GflowPrefix = '${config.prefix}'`) },
  }));

  app.get('/api/jobs', async () => {
    const registry = ctx.jobs();
    const jobs = registry?.list() ?? [];
    const temporal = await ctx.temporalOrReason();
    const reader = 'client' in temporal ? new StatusReader(temporal.client, config) : undefined;
    const links = ctx.links();
    const describe = async (job: string, task: AnyTask) => {
      const schedule = task.schedule;
      const status = reader ? await reader.task(job, task, { runs: true }) : { job, task: task.name, when: describeSchedule(schedule, config.tz), running: [] };
      return {
        ...status,
        kind: schedule.kind,
        ...(schedule.kind === 'calendar' && { unit: schedule.unit }),
        rerunnable: schedule.kind === 'calendar' && task.enableReExecute !== false,
        ...(await lastRuns(ctx.mysql, names, job, task.name)),
        links: {
          runs: links.query(names.runsQuery(job, { tasks: [task.name] })),
          ...(schedule.kind !== 'once' && { schedule: links.schedule(names.scheduleId(job, task.name)) }),
        },
      };
    };
    return {
      temporal: 'client' in temporal ? { ok: true } : { ok: false, reason: temporal.reason },
      jobs: await Promise.all(
        jobs.map(async (job) => ({
          name: job.name,
          links: { runs: links.query(names.runsQuery(job.name)) },
          tasks: await Promise.all(job.registerTask.map((task) => describe(job.name, task))),
        })),
      ),
    };
  });

  app.get('/api/slaves', async () => {
    const buildId = computeBuildId(config.jobsDir);
    const temporal = await ctx.temporalOrReason();
    if (!('client' in temporal)) return { buildId, temporal: { ok: false, reason: temporal.reason }, slaves: [] };
    return { buildId, temporal: { ok: true }, slaves: await new StatusReader(temporal.client, config).slaves(buildId) };
  });

  app.get<{ Querystring: { hours?: number } }>(
    '/api/incidents',
    { schema: { querystring: { type: 'object', properties: { hours: { type: 'integer', minimum: 1, maximum: 24 * 31 } }, additionalProperties: false } } },
    async (request) => {
      const hours = request.query.hours ?? 24;
      const links = ctx.links();
      const incidents = await recentIncidents(ctx.mysql, names, Date.now() - hours * (DAY_MS / 24));
      return { hours, incidents: incidents.map((i) => ({ ...i, links: { run: links.workflow(i.runId), ...(i.rerunId && { rerun: links.workflow(i.rerunId) }) } })) };
    },
  );

  app.get('/api/games', async () => ({ games: (await listGames(ctx.mysql, names)).map(publicGame) }));
}
