/**
 * Runtime configuration in Redis, landed in MySQL (the original gflow's "data flow"):
 * `gflow config get|set` read and write one Redis hash, front ends may too;
 * the `ingest.landConfig` task copies changed values into
 * `<prefix>_meta.config` every minute, and after a Redis flush refills the
 * hash from there. Redis is the source of truth while it has a value.
 *
 * Keys are dotted names (`activity.threshold`). The runtime settings gflow
 * reads are declared, with their defaults and rules, in the one catalogue of
 * settings (`infra/config.ts`, next to the file settings); other well-formed
 * keys outside gflow's namespaces are kept as given for jobs to use.
 */
import type { Redis } from '../../infra/redis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import type { ActivitySettings } from '../activity/keys';
import { activitySettings } from '../activity/keys';
import { describeValue, sqlId } from '../identifiers';
import { assertUtf8Text, findSetting, RESERVED_NAMESPACES, RUNTIME_SETTINGS, SETTINGS } from '../../infra/config';
import { isMissingSchema } from '../../infra/sql-errors';

export const CONFIG_KEY = /^[a-z][A-Za-z0-9_-]{0,40}(\.[a-z][A-Za-z0-9_-]{0,40}){1,3}$/;
export const MAX_CONFIG_VALUE = 4096;

interface KnownKey {
  readonly default: string;
  readonly help: string;
  /** Throws a UserError if `value` is not acceptable. */
  readonly check: (value: string) => void;
}

/** The keys gflow itself reads: the runtime rows of the settings catalogue. */
export const KNOWN_KEYS: Readonly<Record<string, KnownKey>> = Object.fromEntries(
  RUNTIME_SETTINGS.map((s) => [s.key, { default: s.default, help: s.help, check: s.check }]),
);

/** The Redis hash holding the configuration. */
export function configHashKey(names: Names): string {
  return names.redisKey('config');
}

/**
 * Check a key and value; known keys by their rule.
 * @throws UserError (exit 2) saying what is accepted.
 */
export function validateConfig(key: unknown, value: unknown): asserts key is string {
  validateConfigKey(key);
  if (typeof value !== 'string' || value.length > MAX_CONFIG_VALUE) {
    throw usageError(`config ${key}: the value must be text of at most ${MAX_CONFIG_VALUE} chars`);
  }
  assertUtf8Text(value, `config ${key}`);
  KNOWN_KEYS[key]?.check(value);
}

/**
 * Check a key's form, and that it names a runtime setting: a declared one,
 * or a job's own key outside gflow's namespaces.
 * @throws UserError (exit 2) showing the form and the known keys.
 */
export function validateConfigKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !CONFIG_KEY.test(key)) {
    throw usageError(`config key ${describeValue(key)} is not valid: use a known setting (${SETTINGS.map((s) => s.key).join(', ')}) or a dotted lowercase name of your own like report.note`);
  }
  const setting = findSetting(key);
  if (setting?.home === 'file') throw usageError(`config ${key} lives in the config file, not in Redis: gflow config set ${key} <value> writes it there`);
  const namespace = key.split('.')[0]!;
  if (!setting && RESERVED_NAMESPACES.includes(namespace)) {
    const known = SETTINGS.filter((s) => s.key.startsWith(`${namespace}.`)).map((s) => s.key);
    throw usageError(`config ${key} is not a setting: known ${namespace}.* settings are ${known.join(', ')}`);
  }
}

/** Set one key in Redis (landed in MySQL by the next landConfig). */
export async function setConfig(redis: Redis, names: Names, key: string, value: string): Promise<void> {
  validateConfig(key, value);
  await redis.hset(configHashKey(names), key, value);
}

export interface ConfigEntry {
  readonly key: string;
  readonly value: string;
  readonly source: 'redis' | 'default';
}

/** Every known key (with its default where unset) and every other key set, sorted. */
export async function describeConfig(redis: Redis, names: Names): Promise<ConfigEntry[]> {
  const stored = await redis.hgetall(configHashKey(names));
  const keys = new Set([...Object.keys(KNOWN_KEYS), ...Object.keys(stored)]);
  return [...keys].sort().map((key) =>
    stored[key] !== undefined ? { key, value: stored[key]!, source: 'redis' } : { key, value: KNOWN_KEYS[key]!.default, source: 'default' },
  );
}

/** One key's value: Redis, else its default, else `undefined`. */
export async function getConfig(redis: Redis, names: Names, key: string): Promise<string | undefined> {
  validateConfigKey(key);
  return (await redis.hget(configHashKey(names), key)) ?? KNOWN_KEYS[key]?.default;
}

/** What the data plane reads from the configuration. */
export interface DataSettings {
  readonly activity: ActivitySettings;
  readonly ingest: { readonly stream: string; readonly group: string; readonly batchSize: number; readonly minIdleSeconds: number; readonly keepHours: number };
  readonly analyses: { readonly maxDays: number; readonly cacheSeconds: number; readonly claimSeconds: number; readonly maxFailures: number };
}

/**
 * The data-plane settings, validated; a stored value that no longer
 * validates (written by hand into Redis) is refused naming the key.
 */
export async function dataSettings(redis: Redis, names: Names): Promise<DataSettings> {
  const stored = await redis.hgetall(configHashKey(names));
  const get = (key: string) => {
    const value = stored[key] ?? KNOWN_KEYS[key]!.default;
    validateConfig(key, value);
    return value;
  };
  return {
    activity: activitySettings({
      threshold: Number(get('activity.threshold')),
      bucketMinutes: Number(get('activity.bucketMinutes')),
      ttlDays: Number(get('activity.ttlDays')),
      onlineTtlDays: Number(get('activity.onlineTtlDays')),
    }),
    ingest: {
      stream: get('ingest.stream'),
      group: get('ingest.group'),
      batchSize: Number(get('ingest.batchSize')),
      minIdleSeconds: Number(get('ingest.minIdleSeconds')),
      keepHours: Number(get('ingest.keepHours')),
    },
    analyses: {
      maxDays: Number(get('analyses.maxDays')),
      cacheSeconds: Number(get('analyses.cacheSeconds')),
      claimSeconds: Number(get('analyses.claimSeconds')),
      maxFailures: Number(get('analyses.maxFailures')),
    },
  };
}

/**
 * Copy keys whose Redis value differs from MySQL into `<prefix>_meta.config`.
 * If the Redis hash is gone but MySQL has rows, Redis was flushed: restore
 * first, so landing never mistakes a flush for "nothing configured".
 * @returns the keys landed and the keys restored.
 */
export async function landConfig(redis: Redis, pool: Pool, names: Names): Promise<{ landed: string[]; restored: string[] }> {
  const restored = (await redis.exists(configHashKey(names))) === 0 ? (await restoreConfig(redis, pool, names)).restored : [];
  const stored = await redis.hgetall(configHashKey(names));
  const landed = await readLanded(pool, names);
  const changed = Object.entries(stored).filter(([key, value]) => landed.get(key) !== value);
  for (const [key, value] of changed) {
    await pool.query(`INSERT INTO ${table(names)} (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`, [key, value]);
  }
  return { landed: changed.map(([key]) => key).sort(), restored };
}

/**
 * Refill the Redis hash from MySQL, only where Redis lacks a key (HSETNX):
 * a value set since the last landing is newer and stays.
 * @returns the keys restored.
 */
export async function restoreConfig(redis: Redis, pool: Pool, names: Names): Promise<{ restored: string[] }> {
  const landed = await readLanded(pool, names);
  if (landed.size === 0) return { restored: [] };
  const pipeline = redis.pipeline();
  for (const [key, value] of landed) pipeline.hsetnx(configHashKey(names), key, value);
  const results = (await pipeline.exec()) ?? [];
  const keys = [...landed.keys()];
  return { restored: keys.filter((_, i) => results[i]?.[1] === 1).sort() };
}

async function readLanded(pool: Pool, names: Names): Promise<Map<string, string>> {
  let rows: RowDataPacket[];
  try {
    [rows] = await pool.query<RowDataPacket[]>(`SELECT name, value FROM ${table(names)}`);
  } catch (err) {
    if (isMissingSchema(err)) throw failure(`the configuration table ${names.schema('meta')}.config does not exist: run gflow db migrate first`, err);
    throw err;
  }
  return new Map(rows.map((r) => [String(r.name), String(r.value)]));
}

function table(names: Names): string {
  return sqlId(names.schema('meta'), 'config');
}
