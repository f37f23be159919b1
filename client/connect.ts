/** Commands that talk to Temporal borrow a client here and always close it. */
import type { Client } from '@temporalio/client';
import { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { StatusReader } from './status';
import { assertSearchAttributes, connectClient } from '../infra/temporal';

export async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/**
 * Before starting work: refuse a namespace that lacks gflow's search
 * attributes (one line: run gflow setup), and warn when no slave polls, since
 * the work would wait in Temporal without a word.
 */
export async function checkReadyToRun(client: Client, config: Config, log: Logger): Promise<void> {
  await assertSearchAttributes(client.connection, config);
  if ((await new StatusReader(client, config).slaves()).length > 0) return;
  log.warn(`no slave polls ${new Names(config.prefix).sharedQueue}: the work waits until one does (gflow slave start, or gflow worker --slave <name>)`);
}
