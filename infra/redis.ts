/**
 * The one Redis client of a process, shared by every activity (the seed's
 * "connection-pool mode"): ioredis multiplexes one connection, and pipelines
 * batch commands on it.
 */
import Redis from 'ioredis';
import { failure } from '../core/errors';

export type { Redis };

const clients = new Map<string, Redis>();

export interface RedisOptions {
  /**
   * Fail a command at once when Redis is down instead of queueing it until
   * Redis returns: right for a CLI, wrong for a long-running slave.
   */
  failFast?: boolean;
}

/** The process's client for `url`, created on first use. */
export function getRedis(url: string, options: RedisOptions = {}): Redis {
  const existing = clients.get(url);
  if (existing) return existing;
  const client = new Redis(url, {
    lazyConnect: false,
    // Commands sent before the connection is up wait for it; with failFast a failed connect rejects them at once.
    enableOfflineQueue: true,
    maxRetriesPerRequest: options.failFast ? 0 : 20,
    retryStrategy: options.failFast ? () => null : (attempt) => Math.min(attempt * 200, 5000),
  });
  // ioredis emits connection errors as events; without a listener Node prints them as unhandled.
  client.on('error', () => undefined);
  clients.set(url, client);
  return client;
}

/** Check Redis answers, with a one-line failure naming the URL if not. */
export async function pingRedis(url: string): Promise<void> {
  const client = getRedis(url);
  try {
    if (client.status === 'wait') await client.connect();
    await withTimeout(client.ping(), 3000);
  } catch (err) {
    throw failure(`Redis at ${redact(url)} is unreachable: ${(err as Error).message}`, err);
  }
}

export async function closeRedis(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
