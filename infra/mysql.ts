/**
 * The one MySQL pool of a process (per URL), shared by every activity.
 */
import mysql, { type Pool } from 'mysql2/promise';
import { failure } from '../core/errors';
import { redact } from './redis';

export type { Pool };

const pools = new Map<string, Pool>();

/** The process's pool for `url`, created on first use. */
export function getMysql(url: string): Pool {
  const existing = pools.get(url);
  if (existing) return existing;
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: 10,
    waitForConnections: true,
    connectTimeout: 5000,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    decimalNumbers: true,
  });
  pools.set(url, pool);
  return pool;
}

/** Check MySQL answers, with a one-line failure naming the URL if not. */
export async function pingMysql(url: string): Promise<void> {
  try {
    await getMysql(url).query('SELECT 1');
  } catch (err) {
    throw failure(`MySQL at ${redact(url)} is unreachable: ${(err as Error).message}`, err);
  }
}

export async function closeMysql(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => undefined)));
}
