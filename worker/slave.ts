/**
 * A slave: the worker process of one host. It polls the shared task queue
 * (workflows and unpinned items) and its own queue (items pinned to it);
 * Temporal needs one `Worker` per queue, so a slave runs two on one
 * connection, with shared Redis and MySQL clients.
 */
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, GracefulShutdownPeriodExpiredError, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failure, usageError } from '../core/errors';
import { SLAVE_NAME } from '../core/job';
import { Names } from '../core/names';
import { createAlertActivities } from '../activities/alerts';
import { createRerunActivities } from '../activities/rerun';
import { createLedgerActivities } from '../activities/ledger';
import { createRunActivities } from '../activities/run';
import { createAnalysisActivities } from '../activities/analysis';
import { askInProcess } from './ask';
import { createRequestConsumer } from './requests';
import { listEnabledGames } from '../store/games/registry';
import { computeBuildId } from './build-id';
import type { Config } from '../infra/config';
import { loadJobs } from '../infra/jobs';
import { createLogger, type Logger } from '../infra/logger';
import { getMysql } from '../infra/mysql';
import { getRedis } from '../infra/redis';
import { installSdkLogging } from './sdk-logging';
import { assertSearchAttributes, connectClient, connectWorker } from '../infra/temporal';

export const WORKFLOWS_PATH = resolve(__dirname, '../workflows/index.ts');

export interface SlaveOptions {
  readonly config: Config;
  readonly slave: string;
  readonly log?: Logger;
  /** A prebuilt workflow bundle (tests and benchmarks build it once per process). */
  readonly workflowBundle?: WorkflowBundleWithSourceMap;
  /** How long in-flight activities may take to finish on shutdown. @defaultValue 30 s */
  readonly shutdownGraceSeconds?: number;
  /**
   * The slave is its process (`gflow worker`, the daemon): once it has given
   * up on items that outlived the grace time, end the process a moment
   * after `run()` settles, as their code (a timer, a socket) would keep it
   * alive. Never in a process that hosts other things (tests, `gflow dev`).
   */
  readonly exitProcessOnAbandon?: boolean;
  /**
   * Answer the Redis request stream (worker/requests.ts) beside the workers.
   * @defaultValue true
   */
  readonly answerRequests?: boolean;
}

/**
 * After the grace time (activities are then cancelled), how long a stopping
 * slave still waits for them and for Temporal to take their results before
 * it gives up: an activity that ignores cancellation, or a Temporal that is
 * unreachable, must not keep a slave told to stop from stopping.
 */
export const SHUTDOWN_FORCE_MARGIN_SECONDS = 2;

export interface Slave {
  readonly name: string;
  readonly queues: readonly string[];
  /** Resolves when both workers (and the request consumer) have stopped. */
  run(): Promise<void>;
  shutdown(): void;
}

let cachedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundling the workflow code takes seconds: do it once per process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  cachedBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  return cachedBundle;
}

export async function createSlave(options: SlaveOptions): Promise<Slave> {
  const { config, slave } = options;
  if (!SLAVE_NAME.test(slave)) throw usageError(`slave name ${JSON.stringify(slave)} is not valid: letters, digits, . _ - (at most 63)`);
  const log = options.log ?? createLogger(`slave.${slave}`);
  installSdkLogging(log.child('temporal'));
  const names = new Names(config.prefix);
  const registry = loadJobs(config.jobsDir);
  const mysql = getMysql(config.mysqlUrl);
  // Activities that look at other runs (a period's writer) and the request consumer share one client, connected on
  // first use; a failed connection is forgotten, so the next use tries again (Temporal may be back).
  let client: Promise<Client> | undefined;
  const temporal = (): Promise<Client> =>
    (client ??= connectClient(config).catch((err: unknown) => {
      client = undefined;
      throw err;
    }));
  const buildId = computeBuildId(config.jobsDir);
  const identity = `${slave}@${process.pid}#${buildId}`;
  const redis = getRedis(config.redisUrl);
  const analysisDeps = { config, registry, names, redis, mysql, log };
  const activities = {
    ...createRunActivities({
      config,
      registry,
      names,
      redis,
      mysql,
      log,
      assignTask: async () => (await listEnabledGames(mysql, names)).map((g) => ({ game: g.id })),
      identity,
      ask: askInProcess(analysisDeps),
    }),
    ...createAnalysisActivities(analysisDeps),
    ...createLedgerActivities({ registry, names, mysql, buildId, temporal }),
    ...createRerunActivities({ registry, names, mysql, temporal }),
    ...createAlertActivities(config, { log: log.child('alerts') }),
  };
  const grace = options.shutdownGraceSeconds ?? 30;
  const connection = await connectWorker(config);
  try {
    await assertSearchAttributes(connection, config);
  } catch (err) {
    await connection.close();
    throw err;
  }
  const common = {
    connection,
    namespace: config.temporalNamespace,
    activities,
    shutdownGraceTime: `${grace}s`,
    shutdownForceTime: `${grace + SHUTDOWN_FORCE_MARGIN_SECONDS}s`,
    // Heartbeats reach Temporal at least every 2 s (not 80% of the minute's timeout): a batch's record of
    // finished items is that fresh when its slave dies, and a cancelled batch hears of it that soon.
    maxHeartbeatThrottleInterval: '2s',
    // The build id rides in the identity: Temporal's poller list is then the one place `gflow top` reads versions from.
    identity,
  } as const;
  const shared = await Worker.create({
    ...common,
    taskQueue: names.sharedQueue,
    workflowBundle: options.workflowBundle ?? (await workflowBundle()),
  });
  const own = await Worker.create({ ...common, taskQueue: names.slaveQueue(slave) });
  const workers = [shared, own];
  const requests = options.answerRequests === false ? undefined : createRequestConsumer({ config, registry, names, redis, temporal, slave, log: log.child('requests') });
  // When the slave was told to stop (a signal reaches the workers through Temporal's runtime, not through stopAll).
  let stopAskedAt: number | undefined;
  for (const w of workers) {
    const shutdown = w.shutdown.bind(w);
    w.shutdown = () => {
      stopAskedAt ??= Date.now();
      requests?.stop();
      shutdown();
    };
  }
  const forceMs = (grace + SHUTDOWN_FORCE_MARGIN_SECONDS) * 1000;
  return {
    name: slave,
    queues: [names.sharedQueue, names.slaveQueue(slave)],
    async run() {
      let abandoned = false;
      // Requests become workflows: answered only while the workers that run them are up.
      const answering = requests?.run();
      try {
        // If one worker dies, stop the other: a half slave would take work it cannot finish.
        await Promise.all(
          workers.map((w) =>
            w.run().catch((err) => {
              stopAll();
              // Past the force time the SDK gives up on running activities (its cleanup may then fail in turn: "Worker still in use").
              const forced = err instanceof GracefulShutdownPeriodExpiredError || (stopAskedAt !== undefined && Date.now() - stopAskedAt >= forceMs - 250);
              if (!forced) return Promise.reject(err);
              abandoned = true;
            }),
          ),
        );
      } finally {
        // Before the Temporal client closes: the consumer may be handing a request to a workflow (aborted, left pending).
        requests?.stop();
        await answering;
        // Closing waits on Temporal's side of the connection only so long: an unreachable server must not hold the exit.
        await settleWithin(connection.close(), 2000);
        if (client) await settleWithin(client.then((c) => c.connection.close()), 2000);
      }
      if (abandoned) {
        if (options.exitProcessOnAbandon) {
          // Unref'd: if nothing else holds the process it exits sooner, with the exit code the CLI sets.
          setTimeout(() => process.exit(process.exitCode ?? 1), 1000).unref();
        }
        throw failure(
          `slave ${slave}: items still running ${grace + SHUTDOWN_FORCE_MARGIN_SECONDS} s after the stop (grace ${grace} s) were abandoned; Temporal retries them once their heartbeats stop`,
        );
      }
    },
    shutdown: stopAll,
  };

  function stopAll(): void {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

/** Wait for `promise` at most `ms` (its failure ignored). */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  log: () => undefined,
};
