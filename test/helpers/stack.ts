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
import { dropAll, prepareMysql } from './reports';
import { startTemporal, testConfig } from './temporal';

export interface TestStack {
  readonly env: TestWorkflowEnvironment;
  readonly config: Config;
  readonly names: Names;
}

/**
 * Start a dev server and migrate a fresh prefix's MySQL schemas (every run
 * writes the ledger), with `games` in its registry.
 */
export async function startStack(overrides: Partial<Config> = {}, options: { games?: readonly number[] } = {}): Promise<TestStack> {
  const env = await startTemporal();
  const config = testConfig({ temporalAddress: env.address, ...overrides });
  const names = new Names(config.prefix);
  await prepareMysql(getMysql(config.mysqlUrl), names, options.games ?? []);
  return { env, config, names };
}

export async function stopStack(stack: TestStack | undefined): Promise<void> {
  if (!stack) return;
  await dropAll(getMysql(stack.config.mysqlUrl), getRedis(stack.config.redisUrl), stack.names);
  await closeRedis();
  await closeMysql();
  await stack.env.teardown();
}
