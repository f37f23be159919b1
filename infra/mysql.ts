/**
 * The one MySQL pool of a process (per URL), shared by every activity.
 */
import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';
import { failure } from '../core/errors';
import { NETWORK_ERROR_CODES, redact, UnreachableError } from './redis';

export type { Pool };

const pools = new Map<string, Pool>();

/** How long one connection attempt may take (a black-holed host answers nothing). */
export const MYSQL_CONNECT_TIMEOUT_MS = 5000;

/** Connection failures mysql2 reports with codes of its own (the rest are the socket's). */
const LOST_CODES: ReadonlySet<string> = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT']);

/**
 * The process's pool for `url`, created on first use. A query fails within
 * {@link MYSQL_CONNECT_TIMEOUT_MS} (at once if refused) while the server is
 * down, with an {@link UnreachableError} naming the URL; the pool connects
 * afresh on the next query, so it is back as soon as the server is.
 */
export function getMysql(url: string): Pool {
  const existing = pools.get(url);
  if (existing) return existing;
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: 10,
    waitForConnections: true,
    connectTimeout: MYSQL_CONNECT_TIMEOUT_MS,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    decimalNumbers: true,
  });
  namingUrl(pool, url);
  pools.set(url, pool);
  return pool;
}

/** Make the pool's connection failures name `url` (its other errors pass unchanged, codes and errnos intact). */
function namingUrl(pool: Pool, url: string): void {
  const explain = (err: unknown): unknown => {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !(NETWORK_ERROR_CODES.has(code) || LOST_CODES.has(code))) return err;
    return new UnreachableError('MySQL', url, (err as Error).message || code, err);
  };
  const target = pool as unknown as Record<'query' | 'execute' | 'getConnection', (...args: unknown[]) => Promise<unknown>>;
  for (const method of ['query', 'execute', 'getConnection'] as const) {
    const original = target[method].bind(pool);
    target[method] = (...args: unknown[]) =>
      original(...args).catch((err: unknown) => {
        throw explain(err);
      });
  }
}

/** Check MySQL answers, with a one-line failure naming the URL if not. */
export async function pingMysql(url: string): Promise<void> {
  try {
    await getMysql(url).query('SELECT 1');
  } catch (err) {
    const reason = err instanceof UnreachableError && err.cause instanceof Error ? err.cause.message : (err as Error).message;
    throw failure(`MySQL at ${redact(url)} is unreachable: ${reason}`, err);
  }
}

export async function closeMysql(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => undefined)));
}

/** Run `fn` in one transaction on one connection; rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  // Periods of one rerun write their rows side by side in parallel: READ COMMITTED takes no
  // gap locks, and a deadlock that still happens is retried here rather than failing the step.
  for (let attempt = 1; ; attempt++) {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      try {
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      const errno = (err as { errno?: number } | null)?.errno;
      if ((errno === 1213 || errno === 1205) && attempt < 5) continue;
      throw err;
    } finally {
      conn.release();
    }
  }
}
