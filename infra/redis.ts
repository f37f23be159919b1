/**
 * The one Redis client of a process per URL, shared by every activity (the
 * original gflow's "connection-pool mode"): ioredis multiplexes one
 * connection, and pipelines batch commands on it. A `redis+cluster://` URL
 * gets ioredis's Cluster client instead, which keeps one connection per
 * master and sends each command to the master of its key's slot
 * (docs/architecture.md "Redis Cluster").
 */
import { connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Cluster, Redis as Node, type ClusterOptions, type RedisOptions as NodeOptions } from 'ioredis';
import { UserError } from '../core/errors';
import { isClusterUrl, parseClusterUrl, type ClusterUrl } from '../core/urls';
import { redact } from './config';

// Redaction lives with the settings (which hold the URLs); re-exported for the URL's users.
export { redact };

/**
 * A client of one Redis server or of a Redis Cluster: the same commands
 * (ioredis's Commander: single commands, `pipeline()`, `evalsha`, `call`...).
 * On a cluster, every command and every pipeline must keep to the keys of
 * one slot (a game's keys share one: `Names.gameKey`), and keyless commands
 * that read the keyspace (`scan`, `keys`, `dbsize`) see one master only.
 */
export type Redis = Node | Cluster;

/** Whether `redis` is a Redis Cluster's client: its pipelines must keep to one node's slots (one game's keys). */
export function isCluster(redis: Redis): redis is Cluster {
  return redis instanceof Cluster;
}

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
    // A TLS server whose certificate chain Node does not trust (a private CA, most often): say how to trust it.
    // Not for a certificate that is expired or made out to another host: trusting a CA mends neither.
    const hint = isUntrustedChain(reason, cause) ? ' (a private CA? give Node its certificate: NODE_EXTRA_CA_CERTS=/path/to/ca.pem)' : '';
    super(`${service} at ${redact(url)} is unreachable: ${reason}${hint}`, { exitCode: 1, cause, retryable: true });
    this.name = 'UnreachableError';
    this.url = redact(url);
    this.code = (cause as { code?: unknown } | undefined)?.code === undefined ? undefined : String((cause as { code: unknown }).code);
  }
}

/** Node's TLS verdicts that a CA this process does not know signed the chain. */
const UNTRUSTED_CHAIN: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Whether the failure is a certificate chain no trusted CA signed: by the error's code, or its words where only they reached us. */
function isUntrustedChain(reason: string, cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return UNTRUSTED_CHAIN.has(code);
  return /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate/i.test(reason);
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

type Command = Parameters<Node['sendCommand']>[0];

/** Make `command`'s rejection go through `explain` (once per command); an explanation may take a moment (a cluster's seed probe). */
function explainRejection(command: Command, explain: (err: Error) => Error | Promise<Error>): void {
  if (explained.has(command)) return;
  explained.add(command);
  const reject = command.reject;
  command.reject = (err: Error) => {
    const why = explain(err);
    if (why instanceof Promise) void why.then(reject);
    else reject(why);
  };
}

/** A connection failure's own reason: a cluster reports "Failed to refresh slots cache." and keeps the node's reason aside. */
function reasonOf(err: Error): Error {
  const last = (err as { lastNodeError?: unknown }).lastNodeError;
  return last instanceof Error ? last : err;
}

/**
 * An error of a command (or pipeline) rewritten into an
 * {@link UnreachableError} naming the URL and the socket's own reason
 * (`connect ECONNREFUSED ...`) when the server was not there; other errors
 * (an error reply, a client this process closed) as they are.
 */
function explainError(err: Error, url: string, connectError: Error | undefined, gaveUpMessages: readonly string[]): Error {
  if (err instanceof UnreachableError) return err;
  const code = (err as { code?: unknown }).code;
  const gaveUp = err.name === 'MaxRetriesPerRequestError' || gaveUpMessages.includes(err.message);
  if (gaveUp && connectError) return new UnreachableError('Redis', url, connectError.message, connectError);
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return new UnreachableError('Redis', url, err.message, err);
  // Closed with no failed connection: this process closed it (closeRedis), the server was not at fault.
  return err;
}

/**
 * ioredis, with every command's connection failure rewritten into an
 * {@link UnreachableError} naming the URL and the socket's own reason
 * (`connect ECONNREFUSED ...`) instead of "Reached the max retries per
 * request limit". Pipelines send their commands through here too.
 */
class GflowRedis extends Node {
  /** Why the last connection attempt failed; cleared once connected. */
  private connectError: Error | undefined;

  constructor(
    private readonly url: string,
    options: NodeOptions,
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

  override sendCommand(...args: Parameters<Node['sendCommand']>): unknown {
    explainRejection(args[0], (err) => explainError(err, this.url, this.connectError, ['Connection is closed.']));
    return super.sendCommand(...args);
  }
}

/** What a cluster client says when it gave up connecting, or was used after. */
const CLUSTER_GAVE_UP = ['None of startup nodes is available', 'Connection is closed.', 'Cluster is ended.', 'Failed to refresh slots cache.'];

/** What ioredis says of a node it could not reach, having swallowed the socket's own error. */
const VAGUE = 'Connection is closed.';

/**
 * Why no seed node answers, by the sockets themselves: the first seed's
 * connection error (`connect ECONNREFUSED 127.0.0.1:7000`, a time-out, and
 * over TLS a certificate this process does not trust), or `undefined` when
 * every seed accepts a connection (the reason is then Redis's own answer,
 * which the cluster client does report).
 */
function probeSeeds(nodes: ClusterUrl['nodes'], tls: boolean): Promise<Error | undefined> {
  const probes = nodes.map(
    ({ host, port }) =>
      new Promise<Error | undefined>((resolve) => {
        const socket = tls ? tlsConnect({ host, port, ...(isIP(host) === 0 && { servername: host }) }) : connect({ host, port });
        socket.setTimeout(REDIS_CONNECT_TIMEOUT_MS, () => {
          socket.destroy();
          resolve(Object.assign(new Error(`connect ETIMEDOUT ${host}:${port}`), { code: 'ETIMEDOUT' }));
        });
        socket.once(tls ? 'secureConnect' : 'connect', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.once('error', resolve);
      }),
  );
  return Promise.all(probes).then((errors) => errors.find((e) => e !== undefined));
}

/**
 * ioredis's Cluster client, failing like {@link GflowRedis}: a command sent
 * while no seed node answers fails after {@link RETRIES_PER_COMMAND} + 1
 * failed attempts with an {@link UnreachableError} naming the URL. A
 * cluster client that gave up stops (ioredis has no "keep reconnecting but
 * fail queued commands" for clusters) and connects again at the next
 * command, so a long-lived holder (a slave) is back as soon as the
 * cluster is.
 */
class GflowCluster extends Cluster {
  private connectError: Error | undefined;
  /** The seeds' socket errors, probed when ioredis only said "Connection is closed."; cleared once connected. */
  private probe: Promise<Error | undefined> | undefined;
  /** Failed connection attempts since the last success or restart. */
  private attempts = 0;
  /** Closed by this process (closeRedis): never connect again. */
  private closed = false;
  private readonly seeds: ClusterUrl['nodes'];
  private readonly tls: boolean;

  constructor(
    private readonly url: string,
    private readonly failFast: boolean,
  ) {
    const { nodes, username, password, tls } = parseClusterUrl(url);
    const options: ClusterOptions = {
      lazyConnect: false,
      // Ready only once CLUSTER INFO says cluster_state:ok, so no command meets a cluster still assigning slots.
      enableReadyCheck: true,
      // Every read on the master: replicas lag, and a report must read what was just written.
      scaleReads: 'master',
      enableOfflineQueue: true,
      // CLUSTER SLOTS on a node that accepts but never answers fails after this, and the next seed is asked.
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: () => (this.failFast || ++this.attempts > RETRIES_PER_COMMAND ? null : Math.min(this.attempts * 100, MAX_RECONNECT_DELAY_MS)),
      // Over TLS, nodes are dialled by the names they are known by (the seeds by those written, no lookup to
      // an address first), so a certificate made out to a host name verifies; what ioredis and AWS advise.
      ...(tls && { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) }),
      redisOptions: {
        ...(tls && { tls: {} }),
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password }),
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        disconnectTimeout: 300,
        maxRetriesPerRequest: failFast ? 0 : RETRIES_PER_COMMAND,
      },
    };
    super([...nodes], options);
    this.seeds = nodes;
    this.tls = tls;
    const failed = (err: Error) => {
      this.connectError = reasonOf(err);
      if (this.connectError.message === VAGUE) this.probe ??= probeSeeds(this.seeds, this.tls);
    };
    this.on('error', failed);
    this.on('node error', failed);
    this.on('ready', () => {
      this.connectError = undefined;
      this.probe = undefined;
      this.attempts = 0;
    });
  }

  /** Whether the client connects again at its next command once it gave up: not with failFast, not once this process closed it. */
  get restartable(): boolean {
    return !this.failFast && !this.closed;
  }

  /** Connect again if the client gave up and may. */
  private restart(): void {
    if (this.status !== 'end' || !this.restartable) return;
    this.attempts = 0;
    this.connect().catch(() => undefined);
  }

  /** As {@link explainError}; a vague reason is replaced by the seeds' own socket error, once probed. */
  private explain(err: Error): Error | Promise<Error> {
    const explained = explainError(err, this.url, this.connectError, CLUSTER_GAVE_UP);
    const probe = this.probe;
    if (!(explained instanceof UnreachableError) || !explained.message.endsWith(`: ${VAGUE}`) || !probe) return explained;
    return probe.then((found) => (found ? new UnreachableError('Redis', this.url, found.message, found) : explained));
  }

  override sendCommand(...args: Parameters<Cluster['sendCommand']>): unknown {
    explainRejection(args[0], (err) => this.explain(err));
    this.restart();
    return super.sendCommand(...args);
  }

  /** A pipeline waits here until the slots are known; its failure is explained like a command's. */
  override delayUntilReady(callback: Parameters<Cluster['delayUntilReady']>[0]): void {
    this.restart();
    const explained = (err: Error) => void Promise.resolve(this.explain(err)).then(callback);
    if (this.status === 'end') return explained(new Error(VAGUE));
    super.delayUntilReady((err?: Error | null) => (err ? explained(err) : callback(err)));
  }

  /** A client of its own on the same cluster (a subscriber needs one), failing the same way; not pooled. */
  override duplicate(): Cluster {
    return new GflowCluster(this.url, this.failFast);
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.closed = true;
    super.disconnect(reconnect);
  }

  override quit(...args: Parameters<Cluster['quit']>): Promise<'OK'> {
    this.closed = true;
    return super.quit(...args);
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
 * client has ended): ioredis's `Redis` for `redis://` and `rediss://`, its
 * `Cluster` for `redis+cluster://` and `rediss+cluster://` (seed nodes). A command fails within
 * seconds with an {@link UnreachableError} naming the URL while the server
 * is down; the client is back within a second of the server.
 * @throws UserError (exit 2) for a `redis+cluster://` URL that is not valid.
 */
export function getRedis(url: string, options: RedisOptions = {}): Redis {
  const existing = clients.get(url);
  // A cluster client that gave up connects again by itself at its next command: keep it, as its holders do.
  if (existing && (existing.status !== 'end' || (existing instanceof GflowCluster && existing.restartable && !options.failFast))) return existing;
  const client = isClusterUrl(url)
    ? new GflowCluster(url, options.failFast ?? false)
    : new GflowRedis(url, {
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
      // A cluster's client fails the command itself, with the reason its own error event lacks.
      if (client.status !== 'ready' && !isCluster(client)) client.once('error', onError);
    });
    await withTimeout(Promise.race([client.ping(), refused]), timeoutMs);
  } catch (err) {
    if (err instanceof UnreachableError) throw err;
    throw new UnreachableError('Redis', url, (err as Error).message, err);
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
