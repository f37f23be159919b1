/** Commands that talk to Temporal borrow a client here and always close it. */
import type { Client } from '@temporalio/client';
import type { Config } from '../runtime/config';
import { connectClient } from '../runtime/temporal';

export async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
