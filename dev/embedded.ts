/**
 * The embedded default that `gflow dev` and `gflow demo` share: a Temporal
 * dev server started on demand, and sample games so a fresh installation
 * has items to run.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import type { Names } from '../core/names';
import type { Config } from '../infra/config';
import { addGame, listEnabledGames, validateGame } from '../store/games/registry';
import { portOpen, startDevServer, type DevServer } from './dev-server';
import { findTemporalCli } from './temporal-cli';
import { EMBEDDED_ADDRESS, registerSearchAttributes } from '../infra/temporal';

/** Games the embedded default registers when the registry is empty, so the demo has items. */
export const SAMPLE_GAMES = [
  { id: 1, name: 'Dragon Saga' },
  { id: 2, name: 'Puzzle Pop' },
  { id: 3, name: 'Kart Rush' },
] as const;

/**
 * Register {@link SAMPLE_GAMES} if no game is enabled.
 * @returns the ids registered; empty if the registry had games.
 */
export async function ensureSampleGames(mysql: Pool, names: Names): Promise<number[]> {
  if ((await listEnabledGames(mysql, names)).length > 0) return [];
  for (const game of SAMPLE_GAMES) await addGame(mysql, names, validateGame(game));
  return SAMPLE_GAMES.map((g) => g.id);
}

/**
 * Start a dev server unless a Temporal address is configured or one already
 * listens on the default port.
 * @returns the server started or found; `undefined` when an address is configured.
 */
export async function embeddedServer(config: Config, uiPort: number, say: (m: string) => void): Promise<DevServer | undefined> {
  if (config.temporalAddress) return undefined;
  const namespace = config.temporalNamespace;
  const [host, port] = EMBEDDED_ADDRESS.split(':') as [string, string];
  let server: DevServer;
  if (await portOpen(host, Number(port))) {
    say(`using the Temporal server already listening on ${EMBEDDED_ADDRESS}`);
    server = { address: EMBEDDED_ADDRESS, uiUrl: `http://localhost:${uiPort}`, logFile: '', stop: async () => undefined };
  } else {
    server = await startDevServer({ cli: findTemporalCli(config.temporalCli), port: Number(port), uiPort, namespace, dataDir: join(process.cwd(), '.gflow') });
    say(`Temporal dev server started on ${server.address} (web UI ${server.uiUrl}, log ${server.logFile})`);
  }
  // A database file from an older gflow lacks newer search attributes; the start flags do not add them to it.
  const connection = await Connection.connect({ address: server.address });
  try {
    const added = await registerSearchAttributes(new Client({ connection, namespace }), namespace);
    if (added.length > 0) say(`search attributes registered: ${added.join(', ')}`);
  } finally {
    await connection.close();
  }
  return server;
}

/** Resolves on Ctrl-C or SIGTERM: the embedded default serves the web UI until then. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
