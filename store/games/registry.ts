/**
 * The games registry (`<prefix>_meta.games`): which games exist, which are
 * enabled (one report item each: `assignTask()`), and per game a display
 * name, a time-zone override and optional Redis / MySQL URLs for studios
 * that shard big games onto their own servers.
 */
import type { Redis } from 'ioredis';
import { IANAZone } from 'luxon';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { getMysql } from '../../infra/mysql';
import { getRedis, redact } from '../../infra/redis';
import { describeValue, parseGameId, sqlId } from '../identifiers';
import { isMissingSchema } from '../../infra/sql-errors';

export interface Game {
  readonly id: number;
  readonly name: string;
  /** IANA zone whose days this game's reports use; `null`: the configured zone. */
  readonly tz: string | null;
  /** The game's own Redis; `null`: the default. */
  readonly redisUrl: string | null;
  /** The game's own MySQL; `null`: the default. */
  readonly mysqlUrl: string | null;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What `gflow games add` takes, unvalidated. */
export interface GameInput {
  readonly id: unknown;
  readonly name?: unknown;
  readonly tz?: unknown;
  readonly redisUrl?: unknown;
  readonly mysqlUrl?: unknown;
}

export interface NewGame {
  readonly id: number;
  readonly name: string;
  readonly tz: string | null;
  readonly redisUrl: string | null;
  readonly mysqlUrl: string | null;
}

/**
 * Validate a game to add.
 * @throws UserError (exit 2) naming the field and what it accepts.
 */
export function validateGame(input: GameInput): NewGame {
  const id = parseGameId(input.id, 'game id');
  let name = `game ${id}`;
  if (input.name !== undefined) {
    // eslint-disable-next-line no-control-regex
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 128 || /[\u0000-\u001f\u007f]/.test(input.name)) {
      throw usageError(`game name ${describeValue(input.name)} is not valid: use 1 to 128 printable characters`);
    }
    name = input.name.trim();
  }
  let tz: string | null = null;
  if (input.tz !== undefined) {
    if (typeof input.tz !== 'string' || input.tz.length > 64 || !IANAZone.isValidZone(input.tz)) {
      throw usageError(`time zone ${describeValue(input.tz)} is not valid: use an IANA zone such as UTC, Europe/Berlin or Asia/Shanghai`);
    }
    tz = input.tz;
  }
  return { id, name, tz, redisUrl: checkUrl(input.redisUrl, ['redis:', 'rediss:'], 'Redis'), mysqlUrl: checkUrl(input.mysqlUrl, ['mysql:'], 'MySQL') };
}

function checkUrl(value: unknown, protocols: readonly string[], what: string): string | null {
  if (value === undefined) return null;
  let ok = false;
  if (typeof value === 'string' && value.length <= 1024) {
    try {
      const url = new URL(value);
      ok = protocols.includes(url.protocol) && url.hostname !== '';
    } catch {
      ok = false;
    }
  }
  if (!ok) throw usageError(`${what} URL ${describeValue(value)} is not valid: use ${protocols.map((p) => `${p}//host:port`).join(' or ')}`);
  return value as string;
}

const COLUMNS = 'id, name, tz, redis_url, mysql_url, enabled, created_at, updated_at';

/**
 * Register a game (enabled).
 * @throws UserError (exit 2) if the id is taken.
 */
export async function addGame(pool: Pool, names: Names, game: NewGame): Promise<Game> {
  try {
    await pool.query(`INSERT INTO ${table(names)} (id, name, tz, redis_url, mysql_url, enabled) VALUES (?, ?, ?, ?, ?, 1)`, [
      game.id,
      game.name,
      game.tz,
      game.redisUrl,
      game.mysqlUrl,
    ]);
  } catch (err) {
    if ((err as { errno?: number }).errno === 1062) throw usageError(`game ${game.id} exists already: see gflow games list`);
    throw registryError(err, names);
  }
  return (await getGame(pool, names, game.id))!;
}

/** All registered games, by id. */
export async function listGames(pool: Pool, names: Names): Promise<Game[]> {
  return select(pool, names, `SELECT ${COLUMNS} FROM ${table(names)} ORDER BY id`, []);
}

/** The enabled games, by id: what `assignTask()` makes one item each of. */
export async function listEnabledGames(pool: Pool, names: Names): Promise<Game[]> {
  return select(pool, names, `SELECT ${COLUMNS} FROM ${table(names)} WHERE enabled = 1 ORDER BY id`, []);
}

/** One game, or `undefined`. */
export async function getGame(pool: Pool, names: Names, id: number): Promise<Game | undefined> {
  const rows = await select(pool, names, `SELECT ${COLUMNS} FROM ${table(names)} WHERE id = ?`, [parseGameId(id)]);
  return rows[0];
}

/**
 * Enable or disable a game; a disabled game keeps its data and gets no report items.
 * @throws UserError (exit 2) if the game is not registered.
 */
export async function setGameEnabled(pool: Pool, names: Names, id: number, enabled: boolean): Promise<Game> {
  let result: ResultSetHeader;
  try {
    [result] = await pool.query<ResultSetHeader>(`UPDATE ${table(names)} SET enabled = ? WHERE id = ?`, [enabled ? 1 : 0, parseGameId(id)]);
  } catch (err) {
    throw registryError(err, names);
  }
  if (result.affectedRows === 0) throw usageError(`game ${id} is not registered: see gflow games list`);
  return (await getGame(pool, names, id))!;
}

/** Where each game's data goes: its own Redis and zone, or the defaults. */
export interface GameRouting {
  redisFor(game: number): Redis;
  zoneFor(game: number): string;
}

/**
 * Route by the registry; games not in it use the defaults. Clients come from
 * `getRedis`, so each URL has one client per process.
 */
export function gameRouting(games: readonly Game[], defaults: { redis: Redis; tz: string }): GameRouting {
  const byId = new Map(games.map((g) => [g.id, g]));
  return {
    redisFor: (game) => {
      const url = byId.get(game)?.redisUrl;
      return url ? getRedis(url) : defaults.redis;
    },
    zoneFor: (game) => byId.get(game)?.tz ?? defaults.tz,
  };
}

/**
 * The Redis and MySQL a game's item should use: its own where the registry
 * names them, else the defaults. An unreachable own server fails only this
 * game's item (DESIGN.md "Failure isolation").
 */
export function gameClients(game: Game, defaults: { redis: Redis; mysql: Pool }): { redis: Redis; mysql: Pool } {
  return {
    redis: game.redisUrl ? getRedis(game.redisUrl) : defaults.redis,
    mysql: game.mysqlUrl ? getMysql(game.mysqlUrl) : defaults.mysql,
  };
}

/** A game for display: URLs without passwords. */
export function publicGame(game: Game): Game {
  return { ...game, redisUrl: game.redisUrl && redact(game.redisUrl), mysqlUrl: game.mysqlUrl && redact(game.mysqlUrl) };
}

function table(names: Names): string {
  return sqlId(names.schema('meta'), 'games');
}

async function select(pool: Pool, names: Names, sql: string, params: unknown[]): Promise<Game[]> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>(sql, params);
    return rows.map((r) => ({
      id: Number(r.id),
      name: String(r.name),
      tz: (r.tz as string | null) ?? null,
      redisUrl: (r.redis_url as string | null) ?? null,
      mysqlUrl: (r.mysql_url as string | null) ?? null,
      enabled: Number(r.enabled) === 1,
      createdAt: String(r.created_at),
      updatedAt: String(r.updated_at),
    }));
  } catch (err) {
    throw registryError(err, names);
  }
}

function registryError(err: unknown, names: Names): unknown {
  if (isMissingSchema(err)) return failure(`the games registry ${names.schema('meta')}.games does not exist: run gflow db migrate first`, err);
  return err;
}
