/**
 * The one Redis client of a process, shared by every activity (the original gflow's
 * "connection-pool mode"): ioredis multiplexes one connection, and pipelines
 * batch commands on it.
 */
import Redis, { type RedisOptions as ClientOptions } from 'ioredis';
import { failure, UserError } from '../core/errors';
import { redact } from './config';

// Redaction lives with the settings (which hold the URLs); re-exported for the URL's users.
export { redact };

export type { Redis };

const clients = new Map<string, Redis>();

/**
 * How long one connection attempt may take (a black-holed host answers
 * nothing), and the longest pause between attempts: a client whose server
 * is down keeps trying (it is back within a second of the server), and a
 * command waits through {@link RETRIES_PER_COMMAND} + 1 failed attempts,
 * so it fails within about 2 × (5 + 1) s, at once after two refusals
 * (docs/architecture.md "Failure isolation": a game's dead Redis fails its
 * item within an attempt, not after minutes of queued retries).
 */
export const REDIS_CONNECT_TIMEOUT_MS = 5000;
const MAX_RECONNECT_DELAY_MS = 1000;
const RETRIES_PER_COMMAND = 1;

/**
 * A service (Redis, MySQL) that does not answer, named with its URL (without
 * password): the CLI prints it as one line (exit 1); in an activity it stays
 * retryable, as the service may be back for the next attempt.
 */
export class UnreachableError extends UserError {
  /** The URL, without password. */
  readonly url: string;
  readonly code: string | undefined;

  constructor(service: 'Redis' | 'MySQL', url: string, reason: string, cause?: unknown) {
    super(`${service} at ${redact(url)} is unreachable: ${reason}`, { exitCode: 1, cause, retryable: true });
    this.name = 'UnreachableError';
    this.url = redact(url);
    this.code = (cause as { code?: unknown } | undefined)?.code === undefined ? undefined : String((cause as { code: unknown }).code);
  }
}

/** Socket-level failures: the server is not there (or went away), as opposed to an answer that is an error. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** Commands already given a rejection that names the URL (a command passes `sendCommand` again when the offline queue flushes). */
const explained = new WeakSet<object>();

/**
 * ioredis, with every command's connection failure rewritten into an
 * {@link UnreachableError} naming the URL and the socket's own reason
 * (`connect ECONNREFUSED ...`) instead of "Reached the max retries per
 * request limit". Pipelines send their commands through here too.
 */
class GflowRedis extends Redis {
  /** Why the last connection attempt failed; cleared once connected. */
  private connectError: Error | undefined;

  constructor(
    private readonly url: string,
    options: ClientOptions,
  ) {
    super(url, options);
    // ioredis emits connection errors as events; without a listener Node prints them as unhandled.
    this.on('error', (err: Error) => {
      this.connectError = err;
    });
    this.on('ready', () => {
      this.connectError = undefined;
    });
    // connectTimeout ends at the TCP handshake: a server that accepts but never answers (stopped, wedged) would hold commands forever.
    this.on('connect', () => {
      const stream = this.stream;
      const timer = setTimeout(() => {
        if (this.status !== 'connect' || this.stream !== stream) return;
        this.emit('error', Object.assign(new Error(`connected, but no answer within ${REDIS_CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
        stream.destroy();
      }, REDIS_CONNECT_TIMEOUT_MS);
      timer.unref();
    });
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const [command] = args;
    if (!explained.has(command)) {
      explained.add(command);
      const reject = command.reject;
      command.reject = (err: Error) => reject(this.explain(err));
    }
    return super.sendCommand(...args);
  }

  private explain(err: Error): Error {
    if (err instanceof UnreachableError) return err;
    const code = (err as { code?: unknown }).code;
    const gaveUp = err.name === 'MaxRetriesPerRequestError' || err.message === 'Connection is closed.';
    if (gaveUp && this.connectError) return new UnreachableError('Redis', this.url, this.connectError.message, this.connectError);
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return new UnreachableError('Redis', this.url, err.message, err);
    // Closed with no failed connection: this process closed it (closeRedis), the server was not at fault.
    return err;
  }
}

export interface RedisOptions {
  /**
   * Never reconnect: the first failed connection fails every command and
   * ends the client (the next `getRedis` makes a new one). Every client
   * fails a command within seconds anyway; this is for one-shot callers.
   */
  failFast?: boolean;
}

/**
 * The process's client for `url`, created on first use (and again once a
 * client has ended). A command fails within seconds with an
 * {@link UnreachableError} naming the URL while the server is down; the
 * client keeps reconnecting and is back within a second of the server.
 */
export function getRedis(url: string, options: RedisOptions = {}): Redis {
  const existing = clients.get(url);
  if (existing && existing.status !== 'end') return existing;
  const client = new GflowRedis(url, {
    lazyConnect: false,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    // Closing waits this long for the server's goodbye: one that never answered would keep the process alive (2 s by default).
    disconnectTimeout: 300,
    // Commands sent before the connection is up wait for it, through at most RETRIES_PER_COMMAND + 1 failed attempts.
    enableOfflineQueue: true,
    maxRetriesPerRequest: options.failFast ? 0 : RETRIES_PER_COMMAND,
    retryStrategy: options.failFast ? () => null : (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  clients.set(url, client);
  return client;
}

/**
 * Check Redis answers, with a one-line failure naming the URL if not. A
 * failed connection attempt fails at once (the client keeps reconnecting in
 * the background; {@link closeRedis} stops it), else it waits `timeoutMs`.
 */
export async function pingRedis(url: string, timeoutMs = 3000): Promise<void> {
  const client = getRedis(url);
  let onError: ((err: Error) => void) | undefined;
  try {
    if (client.status === 'wait') await client.connect();
    const refused = new Promise<never>((_, reject) => {
      onError = reject;
      if (client.status !== 'ready') client.once('error', onError);
    });
    await withTimeout(Promise.race([client.ping(), refused]), timeoutMs);
  } catch (err) {
    throw failure(`Redis at ${redact(url)} is unreachable: ${(err as Error).message}`, err);
  } finally {
    if (onError) client.off('error', onError);
  }
}

/**
 * Close every client: connected ones after their pending replies (QUIT,
 * at most a second), the others at once, so a process whose Redis is down
 * exits right after saying so instead of retrying for its queued commands.
 */
export async function closeRedis(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(
    all.map(async (c) => {
      if (c.status !== 'ready') return c.disconnect();
      await withTimeout(c.quit(), 1000).catch(() => c.disconnect());
    }),
  );
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
