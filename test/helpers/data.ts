/**
 * The data-plane tests' world: a random prefix per test file, the real Redis
 * and MySQL, and a cleanup that leaves nothing behind (every `<prefix>:*`
 * key, the four `<prefix>_*` schemas, the clients).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../../infra/redis';
import type { Pool } from 'mysql2/promise';
import { Names } from '../../core/names';
import { LocalDays, parseEventLine, type PlayerEvent } from '../../store/activity/events';
import { sqlId } from '../../store/identifiers';
import { LAYERS } from '../../store/schema/migrations';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis, isCluster } from '../../infra/redis';

export const REDIS_URL = process.env.GFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MYSQL_URL = process.env.GFLOW_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface DataWorld {
  readonly names: Names;
  readonly redis: Redis;
  readonly mysql: Pool;
  /** Delete every key and schema of the prefix, then close the process's clients. */
  cleanup(): Promise<void>;
}

/** `t_<8 hex>`: a prefix no other test run uses. */
export function testPrefix(): string {
  return `t_${randomBytes(4).toString('hex')}`;
}

export function dataWorld(prefix = testPrefix()): DataWorld {
  const names = new Names(prefix);
  const redis = getRedis(REDIS_URL);
  const mysql = getMysql(MYSQL_URL);
  return {
    names,
    redis,
    mysql,
    async cleanup() {
      try {
        await deleteKeys(redis, `${prefix}:*`);
        for (const layer of LAYERS) await mysql.query(`DROP DATABASE IF EXISTS ${sqlId(names.schema(layer))}`);
      } finally {
        await Promise.all([closeRedis(), closeMysql()]);
      }
    },
  };
}

/**
 * Keys matching `pattern`, a SCAN page at a time (never KEYS: other tests
 * share this Redis); on a Redis Cluster, every master's.
 */
export async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  for (const node of isCluster(redis) ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** Delete keys matching `pattern` (on a cluster one by one: keys of a page may be in different slots). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, pattern)) {
    const counts = isCluster(redis) ? await Promise.all(keys.map((key) => redis.unlink(key))) : [await redis.unlink(...keys)];
    deleted += counts.reduce((a, b) => a + b, 0);
  }
  return deleted;
}

/** Parse fixture objects as ingestion would (UTC unless a zone is given); throws on a bad one. */
export function events(objects: readonly object[], zone = 'UTC'): PlayerEvent[] {
  const days = new LocalDays();
  return objects.map((o) => {
    const r = parseEventLine(JSON.stringify(o), () => zone, days);
    if (!r.ok) throw new Error(`fixture event ${JSON.stringify(o)}: ${r.reason}`);
    return r.event;
  });
}

/** Every key under the prefix, sorted (for "nothing changed" assertions). */
export async function snapshot(redis: Redis, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'set') out[key] = JSON.stringify((await redis.smembers(key)).sort());
      else if (type === 'hash') out[key] = JSON.stringify(Object.entries(await redis.hgetall(key)).sort());
      else if (type === 'string') out[key] = (await redis.getBuffer(key))?.toString('hex') ?? '';
      else out[key] = type;
    }
  } while (cursor !== '0');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** The malformed-line corpus: each line and the reason it must give. */
export const MALFORMED: ReadonlyArray<[string, RegExp]> = [
  ['{"game":1,"user":"u","type":"login"', /bad JSON/],
  ['not json at all', /bad JSON/],
  ['[1,2,3]', /not a JSON object/],
  ['null', /not a JSON object/],
  ['{"user":"u","type":"login","ts":1764000000}', /missing field game/],
  ['{"game":"1","user":"u","type":"login","ts":1764000000}', /game must be a whole number/],
  ['{"game":0,"user":"u","type":"login","ts":1764000000}', /game must be a whole number/],
  ['{"game":1.5,"user":"u","type":"login","ts":1764000000}', /game must be a whole number/],
  ['{"game":1,"type":"login","ts":1764000000}', /missing field user/],
  ['{"game":1,"user":42,"type":"login","ts":1764000000}', /user must be a non-empty string/],
  [`{"game":1,"user":"${'u'.repeat(65)}","type":"login","ts":1764000000}`, /user longer than 64 chars/],
  ['{"game":1,"user":"u","ts":1764000000}', /missing field type/],
  ['{"game":1,"user":"u","type":"logout","ts":1764000000}', /unknown type "logout"/],
  ['{"game":1,"user":"u","type":"login"}', /missing field ts/],
  ['{"game":1,"user":"u","type":"login","ts":"yesterday"}', /bad ts/],
  ['{"game":1,"user":"u","type":"login","ts":"2026-11-24T10:00:00"}', /bad ts/],
  ['{"game":1,"user":"u","type":"login","ts":"2026-02-30T10:00:00Z"}', /bad ts/],
  ['{"game":1,"user":"u","type":"login","ts":1764000000000}', /bad ts/],
  ['{"game":1,"user":"u","type":"pay","ts":1764000000,"amount":5}', /pay without id/],
  ['{"game":1,"user":"u","type":"pay","ts":1764000000,"id":"o1"}', /pay without amount/],
  ['{"game":1,"user":"u","type":"pay","ts":1764000000,"id":"o1","amount":-5}', /amount must be a decimal/],
  ['{"game":1,"user":"u","type":"pay","ts":1764000000,"id":"o1","amount":"1.23456"}', /amount must be a decimal/],
  ['{"game":1,"user":"u","type":"login","ts":1764000000,"server":"s1"}', /server must be an integer/],
];
