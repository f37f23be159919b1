/** MySQL set-up for tests that run report jobs: migrated schemas, games, and a clean drop. */
import type { Names } from '../../core/names';
import { addGame, validateGame } from '../../store/games/registry';
import { LAYERS, migrate } from '../../store/schema/migrations';
import type { Pool } from '../../infra/mysql';
import type { Redis } from '../../infra/redis';
import { deleteKeys } from './data';

export async function prepareMysql(pool: Pool, names: Names, games: readonly number[]): Promise<void> {
  await migrate(pool, names);
  for (const id of games) await addGame(pool, names, validateGame({ id }));
}

/** Drop the run's schemas and Redis keys (on a Redis Cluster too). */
export async function dropAll(pool: Pool, redis: Redis, names: Names): Promise<void> {
  for (const layer of LAYERS) await pool.query(`DROP DATABASE IF EXISTS \`${names.schema(layer)}\``);
  await deleteKeys(redis, names.redisKey('*'));
}
