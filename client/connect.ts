/** Commands that talk to Temporal borrow a client here and always close it. */
import type { Client } from '@temporalio/client';
import { Names } from '../core/names';
import type { Config } from '../infra/config';
import type { Logger } from '../infra/logger';
import { StatusReader } from './status';
import { connectClient } from '../infra/temporal';

export async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/**
 * Work waits in Temporal until a slave polls for it: say so up front rather
 * than leave an operator watching a run that cannot move.
 */
export async function warnIfNoSlaves(client: Client, config: Config, log: Logger): Promise<void> {
  if ((await new StatusReader(client, config).slaves()).length > 0) return;
  log.warn(`no slave polls ${new Names(config.prefix).sharedQueue}: the work waits until one does (gflow slave start, or gflow worker --slave <name>)`);
}
