/**
 * `POST /api/jobs/<job>/start|stop|restart`: the master's commands, as
 * `gflow start|stop|restart <job> [-t tasks] [--now]` does them (JobControl),
 * with the same refusal when a once-task already runs.
 */
import type { FastifyInstance } from 'fastify';
import { checkReadyToRun } from '../../client/connect';
import { JobControl } from '../../client/control';
import { captureWarnings, type ConsoleContext } from '../context';
import { ApiError } from '../errors';
import { consoleUser, parseTaskNames } from '../params';

const VERBS = ['start', 'stop', 'restart'] as const;

export function controlRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.post<{ Params: { job: string; verb: string }; Body: { tasks?: string[]; now?: boolean; reason?: string } }>(
    '/api/jobs/:job/:verb',
    {
      schema: {
        body: {
          type: 'object',
          properties: { tasks: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 100 }, now: { type: 'boolean' }, reason: { type: 'string', maxLength: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const { job } = request.params;
      const verb = VERBS.find((v) => v === request.params.verb);
      if (verb === undefined) throw new ApiError(404, `no action ${JSON.stringify(request.params.verb)}: use start, stop or restart`, 'verb');
      const b = request.body ?? {};
      const tasks = ctx.tasks(job, parseTaskNames(b.tasks));
      const by = await consoleUser(b.reason);
      const client = await ctx.temporal();
      const { log, said } = captureWarnings();
      if (verb !== 'stop') await checkReadyToRun(client, ctx.config, log);
      const control = new JobControl(client, ctx.config);
      const actions = verb === 'stop' ? await control.stop(job, tasks) : await control[verb](job, tasks, { now: b.now === true, by });
      const refused = actions.filter((a) => a.refused);
      if (refused.length > 0) {
        throw new ApiError(409, `${refused.map((a) => `${job}.${a.task}`).join(', ')} already running: refused (gflow stop ${job} first)`, 'tasks');
      }
      return { job, verb, actions, warnings: said };
    },
  );
}
