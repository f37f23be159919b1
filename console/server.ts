/**
 * `gflow console`: the studio's reports and runs in a web page. A Fastify
 * server (the JSON API under /api and the static pages of ./public, no
 * build step) over the same client/ and store/ functions the CLI uses.
 *
 * Safe by default (./security.ts): it listens on 127.0.0.1; actions are
 * POSTs with a JSON body and a custom header, refused cross-site, and need
 * the token once the console listens beyond loopback (read-only without).
 */
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../infra/config';
import { createLogger } from '../infra/logger';
import { ConsoleContext } from './context';
import { failure } from '../core/errors';
import { errorResponse } from './errors';
import { analysesRoutes } from './routes/analyses';
import { controlRoutes } from './routes/control';
import { overviewRoutes } from './routes/overview';
import { reportsRoutes } from './routes/reports';
import { rerunsRoutes } from './routes/reruns';
import { runsRoutes } from './routes/runs';
import { ACTION_HEADER, actionPolicy, allowedHosts, checkAction, checkHost, SECURITY_HEADERS } from './security';

export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_CONSOLE_PORT = 8234;

/** The pages, each a static HTML file of ./public with its own small script. */
const PAGES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/task': 'task.html',
  '/reruns': 'reruns.html',
  '/rerun': 'rerun.html',
  '/reports': 'reports.html',
  '/analyses': 'analyses.html',
};

const PUBLIC = join(__dirname, 'public');
/** ECharts, served from its npm package: the console works offline, no CDN. */
const ECHARTS_DIST = dirname(require.resolve('echarts/dist/echarts.min.js'));

export interface ConsoleOptions {
  /** Address to listen on. @defaultValue 127.0.0.1 */
  readonly host?: string;
  /** Port; 0 for any free one. @defaultValue 8234 */
  readonly port?: number;
  /** When the port is taken: fail (the default), or take any free port (the embedded default, next to another console). */
  readonly portInUse?: 'fail' | 'any';
}

export interface RunningConsole {
  /** Where to open it, e.g. `http://127.0.0.1:8234/`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Whether actions are allowed, and what they need. */
  readonly actions: string;
  close(): Promise<void>;
}

/**
 * The console's server, not yet listening: its routes check Host and
 * actions against `host` (the address it will listen on).
 */
export async function buildConsole(config: Config, host: string): Promise<{ app: FastifyInstance; ctx: ConsoleContext }> {
  const policy = actionPolicy(host, config.consoleToken);
  const ctx = new ConsoleContext(config, policy);
  const log = createLogger('console');
  const app = Fastify({
    logger: false,
    bodyLimit: 1 << 20,
    trustProxy: false,
    return503OnClosing: true,
    // maxParamLength: an analysis request's id (GET /api/analyses/<id>) carries its parameters.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // An unknown field is refused, not silently dropped: a typo in an action must not run something else.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  const hosts = allowedHosts(host);

  app.addHook('onRequest', async (request) => {
    (request as { startedAt?: number }).startedAt = performance.now();
    checkHost({ host: request.headers.host }, hosts);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const h = request.headers;
      checkAction(
        {
          method: request.method,
          host: h.host,
          origin: h.origin,
          secFetchSite: single(h['sec-fetch-site']),
          actionHeader: single(h[ACTION_HEADER]),
          contentType: h['content-type'],
          authorization: h.authorization,
        },
        policy,
        config.consoleToken,
      );
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    const started = (request as { startedAt?: number }).startedAt;
    if (started !== undefined) {
      const previous = reply.getHeader('server-timing');
      reply.header('server-timing', `${previous ? `${String(previous)}, ` : ''}total;dur=${(performance.now() - started).toFixed(1)}`);
    }
    return payload;
  });
  app.setErrorHandler(async (err, request, reply) => {
    const { status, body, bug } = errorResponse(err);
    if (bug) log.error(`${request.method} ${request.url}: ${(err as Error).stack ?? String(err)}`);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ error: `no page or API ${request.method} ${request.url.split('?')[0]}`, field: null }));

  await app.register(fastifyStatic, { root: PUBLIC, prefix: '/assets/', index: false, wildcard: false, cacheControl: true, maxAge: 0 });
  await app.register(fastifyStatic, { root: ECHARTS_DIST, prefix: '/vendor/', decorateReply: false, index: false, wildcard: false, allowedPath: (path) => path === '/echarts.min.js', maxAge: '1d' });
  for (const [path, file] of Object.entries(PAGES)) app.get(path, (_request, reply) => reply.type('text/html; charset=utf-8').sendFile(file));

  overviewRoutes(app, ctx);
  runsRoutes(app, ctx);
  rerunsRoutes(app, ctx);
  controlRoutes(app, ctx);
  reportsRoutes(app, ctx);
  analysesRoutes(app, ctx);
  app.addHook('onClose', async () => ctx.close());
  return { app, ctx };
}

/** Start the console; resolves once it listens. */
export async function startConsole(config: Config, options: ConsoleOptions = {}): Promise<RunningConsole> {
  const host = options.host ?? DEFAULT_CONSOLE_HOST;
  const port = options.port ?? DEFAULT_CONSOLE_PORT;
  const listen = async (p: number) => {
    const { app, ctx } = await buildConsole(config, host);
    try {
      await app.listen({ host, port: p });
    } catch (err) {
      await app.close();
      throw err;
    }
    return { app, ctx };
  };
  let started;
  try {
    started = await listen(port);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    if (options.portInUse !== 'any') throw failure(`port ${port} on ${host} is in use (another gflow console?): choose another with --port`);
    started = await listen(0);
  }
  const { app, ctx } = started;
  const address = app.server.address();
  const bound = address && typeof address === 'object' ? address.port : port;
  return {
    url: `http://${urlHost(host)}:${bound}/`,
    host,
    port: bound,
    actions: ctx.policy.note,
    close: () => app.close(),
  };
}

/** The host part of the URL to print: a wildcard address is opened as loopback on this machine. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  const bare = host.replace(/^\[|\]$/g, '');
  return bare.includes(':') ? `[${bare}]` : bare;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

