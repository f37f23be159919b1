/**
 * One Temporal dev server per test file (free port), a config isolated by a
 * random prefix, and slaves that are always shut down.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../../core/names';
import type { Config } from '../../infra/config';
import { createLogger } from '../../infra/logger';
import { installSdkLogging } from '../../worker/sdk-logging';
import { findTemporalCli } from '../../dev/temporal-cli';

export const FIXTURE_JOBS = resolve(__dirname, '../fixtures/jobs');

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  // Expected failures (a game that throws) would log a warning per attempt: keep test output to errors.
  installSdkLogging(createLogger('temporal'), 'ERROR');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli(process.env.GFLOW_TEMPORAL_CLI) },
      searchAttributes: Object.values(searchAttributes),
      extraArgs: ['--log-level', 'error'],
    },
  });
}

/** A prefix no other test run uses: Temporal ids, queues, Redis keys and MySQL schemas stay apart. */
export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    prefix: uniquePrefix(),
    tz: 'UTC',
    jobsDir: FIXTURE_JOBS,
    redisUrl: process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379',
    mysqlUrl: process.env.GFLOW_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
    temporalAddress: undefined,
    temporalNamespace: 'default',
    temporalCli: undefined,
    concurrency: 4,
    slaveWaitSeconds: 600,
    maxRerunPeriods: 400,
    source: 'test',
    ...overrides,
  };
}

/** The environment a `gflow` child process needs to see the same installation as `config`. */
export function cliEnv(config: Config): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GFLOW_PREFIX: config.prefix,
    GFLOW_TZ: config.tz,
    GFLOW_JOBS: config.jobsDir,
    GFLOW_REDIS_URL: config.redisUrl,
    GFLOW_MYSQL_URL: config.mysqlUrl,
    TEMPORAL_ADDRESS: config.temporalAddress ?? '',
    TEMPORAL_NAMESPACE: config.temporalNamespace,
  };
}
