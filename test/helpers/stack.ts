/**
 * The whole real stack for one test file: a dev server, a config under a
 * fresh prefix, and a teardown that drops what the prefix created in Redis
 * and MySQL, closes the clients and stops the server.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { dropAll } from './reports';
import { startTemporal, testConfig } from './temporal';

export interface TestStack {
  readonly env: TestWorkflowEnvironment;
  readonly config: Config;
  readonly names: Names;
}

export async function startStack(overrides: Partial<Config> = {}): Promise<TestStack> {
  const env = await startTemporal();
  const config = testConfig({ temporalAddress: env.address, ...overrides });
  return { env, config, names: new Names(config.prefix) };
}

export async function stopStack(stack: TestStack | undefined): Promise<void> {
  if (!stack) return;
  await dropAll(getMysql(stack.config.mysqlUrl), getRedis(stack.config.redisUrl), stack.names);
  await closeRedis();
  await closeMysql();
  await stack.env.teardown();
}
