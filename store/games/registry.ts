/**
 * The games registry (`<prefix>_meta.games`): which games exist, which are
 * enabled (one report item each: `assignTask()`), and per game a display
 * name, a time-zone override and optional Redis / MySQL URLs for studios
 * that shard big games onto their own servers. Each row records when and by
 * whom (`user@host`) it was last written (`updated_at`, `updated_by`).
 */
import { IANAZone } from 'luxon';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { failure, usageError } from '../../core/errors';
import type { Names } from '../../core/names';
import { checkMysqlUrl, checkRedisUrl } from '../../core/urls';
import { getMysql } from '../../infra/mysql';
import { getRedis, redact, type Redis } from '../../infra/redis';
import { describeValue, parseGameId, sqlId } from '../identifiers';
import { isMissingSchema } from '../../infra/sql-errors';
import { startedBy } from '../../infra/who';

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
  /** `user@host` of the last `games add|update|enable|disable`; `null` for rows written before it was recorded. */
  readonly updatedBy: string | null;
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

/** What `gflow games update` may change, unvalidated; absent fields stay as they are. */
export interface GameChanges {
  readonly name?: unknown;
  readonly tz?: unknown;
  readonly redisUrl?: unknown;
  readonly mysqlUrl?: unknown;
}

/** Validated changes: only the fields present change. */
export interface ValidGameChanges {
  readonly name?: string;
  readonly tz?: string;
  readonly redisUrl?: string;
  readonly mysqlUrl?: string;
}

/**
 * Validate a game to add.
 * @throws UserError (exit 2) naming the field and what it accepts.
 */
export function validateGame(input: GameInput): NewGame {
  const id = parseGameId(input.id, 'game id');
  const fields = validateFields(input);
  return { id, name: fields.name ?? `game ${id}`, tz: fields.tz ?? null, redisUrl: fields.redisUrl ?? null, mysqlUrl: fields.mysqlUrl ?? null };
}

/**
 * Validate changes to a game, by the rules of {@link validateGame}.
 * @throws UserError (exit 2) naming the field and what it accepts, or when nothing would change.
 */
export function validateGameChanges(changes: GameChanges): ValidGameChanges {
  const valid = validateFields(changes);
  if (Object.keys(valid).length === 0) throw usageError('nothing to change: give --name, --redis, --mysql or --tz');
  return valid;
}

/** The fields present in `input`, each checked; the one set of rules of add and update. */
function validateFields(input: GameChanges): ValidGameChanges {
  const out: { name?: string; tz?: string; redisUrl?: string; mysqlUrl?: string } = {};
  if (input.name !== undefined) {
    // eslint-disable-next-line no-control-regex
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 128 || /[\u0000-\u001f\u007f]/.test(input.name)) {
      throw usageError(`game name ${describeValue(input.name)} is not valid: use 1 to 128 printable characters`);
    }
    out.name = input.name.trim();
  }
  if (input.tz !== undefined) {
    if (typeof input.tz !== 'string' || input.tz.length > 64 || !IANAZone.isValidZone(input.tz)) {
      throw usageError(`time zone ${describeValue(input.tz)} is not valid: use an IANA zone such as UTC, Europe/Berlin or Asia/Shanghai`);
    }
    out.tz = input.tz;
  }
  // The URL rules are core/urls.ts's, the same the GFLOW_REDIS_URL / GFLOW_MYSQL_URL settings use.
  if (input.redisUrl !== undefined) out.redisUrl = checkRedisUrl(input.redisUrl);
  if (input.mysqlUrl !== undefined) out.mysqlUrl = checkMysqlUrl(input.mysqlUrl);
  return out;
}

/** Who writes a registry row: this process's `user@host` (infra/who.ts). */
export function registryWriter(): string {
  const { user, host } = startedBy();
  return `${user}@${host}`.slice(0, 255);
}

const COLUMNS = 'id, name, tz, redis_url, mysql_url, enabled, created_at, updated_at, updated_by';

/**
 * Register a game (enabled).
 * @throws UserError (exit 2) if the id is taken.
 */
export async function addGame(pool: Pool, names: Names, game: NewGame): Promise<Game> {
  try {
    await pool.query(`INSERT INTO ${table(names)} (id, name, tz, redis_url, mysql_url, enabled, updated_by) VALUES (?, ?, ?, ?, ?, 1, ?)`, [
      game.id,
      game.name,
      game.tz,
      game.redisUrl,
      game.mysqlUrl,
      registryWriter(),
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
    [result] = await pool.query<ResultSetHeader>(`UPDATE ${table(names)} SET enabled = ?, updated_by = ? WHERE id = ?`, [enabled ? 1 : 0, registryWriter(), parseGameId(id)]);
  } catch (err) {
    throw registryError(err, names);
  }
  if (result.affectedRows === 0) throw usageError(`game ${id} is not registered: see gflow games list`);
  return (await getGame(pool, names, id))!;
}

/**
 * Change a registered game's name, zone or URLs (`gflow games update`): the
 * fields given, validated like `games add`, and nothing else; the row
 * records when and by whom (`updated_at`, `updated_by`: `user@host`).
 * Processes already running keep the clients they have for the old URLs
 * until they restart; new report items route by the new ones.
 * @param by who changes it; default this process's `user@host`.
 * @throws UserError (exit 2) for an invalid change, nothing to change, or a game that is not registered.
 *
 * @example
 * ```ts
 * await updateGame(pool, names, 12, { redisUrl: 'redis://10.0.0.9:6379' });
 * ```
 */
export async function updateGame(pool: Pool, names: Names, id: number, changes: GameChanges, by: string = registryWriter()): Promise<Game> {
  const gameId = parseGameId(id, 'game id');
  const valid = validateGameChanges(changes);
  const columns: Array<[string, string]> = [];
  if (valid.name !== undefined) columns.push(['name', valid.name]);
  if (valid.tz !== undefined) columns.push(['tz', valid.tz]);
  if (valid.redisUrl !== undefined) columns.push(['redis_url', valid.redisUrl]);
  if (valid.mysqlUrl !== undefined) columns.push(['mysql_url', valid.mysqlUrl]);
  try {
    // Column names are this list's literals; every value is a placeholder.
    await pool.query(`UPDATE ${table(names)} SET ${columns.map(([c]) => `${c} = ?`).join(', ')}, updated_by = ?, updated_at = CURRENT_TIMESTAMP WHERE id = ?`, [
      ...columns.map(([, v]) => v),
      by.slice(0, 255),
      gameId,
    ]);
  } catch (err) {
    throw registryError(err, names);
  }
  // Not affectedRows: a change to the values a row has already may count as no row.
  const game = await getGame(pool, names, gameId);
  if (!game) throw usageError(`game ${gameId} is not registered: see gflow games list (or add it with gflow games add ${gameId})`);
  return game;
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
 * game's item (docs/architecture.md "Failure isolation").
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
      updatedBy: (r.updated_by as string | null) ?? null,
    }));
  } catch (err) {
    throw registryError(err, names);
  }
}

function registryError(err: unknown, names: Names): unknown {
  if (isMissingSchema(err)) return failure(`the games registry ${names.schema('meta')}.games does not exist: run gflow db migrate first`, err);
  // ER_BAD_FIELD_ERROR: a column a newer migration adds (updated_by) is not there yet.
  if ((err as { errno?: number } | null)?.errno === 1054) return failure(`the games registry ${names.schema('meta')}.games is not up to date: run gflow db migrate first`, err);
  return err;
}
