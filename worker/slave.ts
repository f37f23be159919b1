/**
 * A slave: the worker process of one host. It polls the shared task queue
 * (workflows and unpinned items) and its own queue (items pinned to it);
 * Temporal needs one `Worker` per queue, so a slave runs two on one
 * connection, with shared Redis and MySQL clients.
 */
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { usageError } from '../core/errors';
import { SLAVE_NAME } from '../core/job';
import { Names } from '../core/names';
import { createAlertActivities } from '../activities/alerts';
import { createRerunActivities } from '../activities/rerun';
import { createLedgerActivities } from '../activities/ledger';
import { createRunActivities } from '../activities/run';
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
}

export interface Slave {
  readonly name: string;
  readonly queues: readonly string[];
  /** Resolves when both workers have stopped. */
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
  // Activities that look at other runs (a period's writer) share one client, connected on first use.
  let client: Promise<Client> | undefined;
  const buildId = computeBuildId(config.jobsDir);
  const identity = `${slave}@${process.pid}#${buildId}`;
  const activities = {
    ...createRunActivities({
      config,
      registry,
      names,
      redis: getRedis(config.redisUrl),
      mysql,
      log,
      assignTask: async () => (await listEnabledGames(mysql, names)).map((g) => ({ game: g.id })),
      identity,
    }),
    ...createLedgerActivities({ registry, names, mysql, buildId, temporal: () => (client ??= connectClient(config)) }),
    ...createRerunActivities({ registry, names, mysql, temporal: () => (client ??= connectClient(config)) }),
    ...createAlertActivities(config, { log: log.child('alerts') }),
  };
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
    shutdownGraceTime: `${options.shutdownGraceSeconds ?? 30}s`,
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
  return {
    name: slave,
    queues: [names.sharedQueue, names.slaveQueue(slave)],
    async run() {
      try {
        // If one worker dies, stop the other: a half slave would take work it cannot finish.
        await Promise.all(workers.map((w) => w.run().catch((err) => (stopAll(), Promise.reject(err)))));
      } finally {
        await connection.close();
        if (client) await (await client).connection.close().catch(() => undefined);
      }
    },
    shutdown: stopAll,
  };

  function stopAll(): void {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
  log: () => undefined,
};
