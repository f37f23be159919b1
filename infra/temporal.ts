/**
 * Connections to Temporal. Temporal's own settings (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, the TOML profile)
 * pass through `@temporalio/envconfig`, so Temporal Cloud works unchanged;
 * with no address configured gflow talks to its embedded dev server.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
// Type-only: the worker package costs ~0.6 s to load, and only slaves need it (loaded in connectWorker).
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { failure } from '../core/errors';
import { searchAttributeIndexedTypes, searchAttributeTypes } from '../core/search-attributes';
import type { Config } from './config';

/** Where the embedded dev server listens unless told otherwise. */
export const EMBEDDED_ADDRESS = '127.0.0.1:7233';

export function temporalAddress(config: Config): string {
  return config.temporalAddress ?? EMBEDDED_ADDRESS;
}

function connectOptions(config: Config): NativeConnectionOptions {
  let fromEnv: NativeConnectionOptions = {};
  try {
    fromEnv = loadClientConnectConfig().connectionOptions;
  } catch {
    // No profile file, or an unreadable one: the environment and gflow's config still apply.
  }
  return { ...fromEnv, address: temporalAddress(config) };
}

function unreachable(config: Config, err: unknown): Error {
  const hint = config.temporalAddress ? 'check TEMPORAL_ADDRESS' : 'start one with `gflow dev`, or set TEMPORAL_ADDRESS';
  return failure(`Temporal at ${temporalAddress(config)} is unreachable (${hint}): ${(err as Error).message.split('\n')[0]}`, err);
}

/** A client for the configured namespace; fails with one line when Temporal is down. */
export async function connectClient(config: Config): Promise<Client> {
  const { address, tls, apiKey, metadata } = connectOptions(config);
  try {
    const connection = await Connection.connect({ address, tls, apiKey, metadata, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporalNamespace });
  } catch (err) {
    throw unreachable(config, err);
  }
}

/** The Rust-core connection workers use. */
export async function connectWorker(config: Config): Promise<NativeConnection> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NativeConnection } = require('@temporalio/worker') as typeof import('@temporalio/worker');
    return await NativeConnection.connect(connectOptions(config));
  } catch (err) {
    throw unreachable(config, err);
  }
}

/**
 * Refuse to work against a namespace that lacks gflow's search attributes:
 * a run would fail its first workflow task (setting `GflowOutcome`) and hang.
 * @throws UserError naming the missing attributes and `gflow setup`.
 */
export async function assertSearchAttributes(connection: Pick<NativeConnection, 'operatorService'> | Pick<Connection, 'operatorService'>, config: Config): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace: config.temporalNamespace });
  const missing = Object.keys(searchAttributeTypes).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    throw failure(`Temporal namespace ${config.temporalNamespace} at ${temporalAddress(config)} lacks gflow's search attributes ${missing.join(', ')}: run gflow setup`);
  }
}

/**
 * Register gflow's search attributes on a cluster (the dev server gets them
 * as start flags). Idempotent: attributes already there are left alone.
 */
export async function registerSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(searchAttributeTypes).filter((name) => !(name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, temporal.api.enums.v1.IndexedValueType[searchAttributeIndexedTypes[name]!]])),
  });
  return missing;
}
