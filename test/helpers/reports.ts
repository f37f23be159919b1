/** MySQL set-up for tests that run report jobs: migrated schemas, games, and a clean drop. */
import type { Names } from '../../core/names';
import { addGame, validateGame } from '../../store/games/registry';
import { LAYERS, migrate } from '../../store/schema/migrations';
import type { Pool } from '../../infra/mysql';
import type { Redis } from '../../infra/redis';

export async function prepareMysql(pool: Pool, names: Names, games: readonly number[]): Promise<void> {
  await migrate(pool, names);
  for (const id of games) await addGame(pool, names, validateGame({ id }));
}

/** Drop the run's schemas and Redis keys. */
export async function dropAll(pool: Pool, redis: Redis, names: Names): Promise<void> {
  for (const layer of LAYERS) await pool.query(`DROP DATABASE IF EXISTS \`${names.schema(layer)}\``);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', names.redisKey('*'), 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
