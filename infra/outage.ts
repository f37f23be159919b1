/**
 * Whether a failure says Redis or Temporal cannot serve now (an outage: wait
 * and try again, nothing is wrong with what was asked) or is about what was
 * asked (a key of the wrong type, a payload Temporal refuses, a key outside
 * what the ACL lets us touch). The request stream's consumer
 * (worker/requests.ts) backs off on an outage and counts anything else
 * against the request that met it.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { isUserError, messageOf } from '../core/errors';
import { NETWORK_ERROR_CODES } from './redis';

/**
 * How far an outage reaches: `service`, the whole server (down, loading,
 * full, refusing our credentials); `slot`, on a Redis Cluster, perhaps only
 * the hash slot of the key at hand (a slot not served, or migrating), while
 * the other slots serve.
 */
export type OutageScope = 'service' | 'slot';

/** A service could not be reached to do something (no Temporal client, say): nothing about what was being done. */
export class OutageError extends Error {
  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
    this.name = 'OutageError';
  }
}

/**
 * Redis error replies that say the server cannot serve now, whatever the
 * command: loading, failing over, out of memory, busy with a script,
 * refusing our credentials. Not NOPERM: an ACL refuses a command or a key
 * (a reply key outside the user's key patterns is the request's own fault).
 */
const REDIS_SERVICE_OUTAGE = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|NOREPLICAS|MISCONF|NOAUTH|WRONGPASS)\b/;
/** Redis Cluster replies that may concern one slot only: not served (CLUSTERDOWN), or moving (TRYAGAIN). */
const REDIS_SLOT_OUTAGE = /^(CLUSTERDOWN|TRYAGAIN)\b/;
/** ioredis's own words for a connection that is gone. */
const CONNECTION_GONE = /^(Connection is closed\.|Stream isn't writeable)/;
/**
 * gRPC statuses of a Temporal that cannot serve now (unavailable, overloaded,
 * timed out, its store failing) or that refuses our credentials: nothing
 * about the request. INVALID_ARGUMENT, FAILED_PRECONDITION and the like are
 * the request's own (a payload Temporal refuses).
 */
const GRPC_OUTAGE: ReadonlySet<number> = new Set([
  4, // DEADLINE_EXCEEDED
  7, // PERMISSION_DENIED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
  16, // UNAUTHENTICATED
]);

/**
 * The outage `err` (or an error it wraps) reports, and how far it reaches;
 * `undefined` when it is not one: a lost connection, a socket error, an
 * UnreachableError, a Redis that is loading or full, a Temporal that is
 * unavailable are the whole `service`; a Redis Cluster's CLUSTERDOWN or
 * TRYAGAIN, a `slot`. A wrapped service outage outweighs a slot's.
 *
 * @example outageOf(new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot')) // 'slot'
 */
export function outageOf(err: unknown): OutageScope | undefined {
  let found: OutageScope | undefined;
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    if (isServiceOutage(e)) return 'service';
    if (REDIS_SLOT_OUTAGE.test(e.message)) found = 'slot';
  }
  return found;
}

/** Whether `err` (or an error it wraps) is an outage of any scope: see {@link outageOf}. */
export function isOutage(err: unknown): boolean {
  return outageOf(err) !== undefined;
}

function isServiceOutage(e: Error): boolean {
  if (e instanceof OutageError) return true;
  // UnreachableError (Redis, MySQL not there), and whatever else says a retry may succeed.
  if (isUserError(e) && e.retryable) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  if (isGrpcServiceError(e) && GRPC_OUTAGE.has(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ClusterAllFailedError') return true;
  return CONNECTION_GONE.test(e.message) || REDIS_SERVICE_OUTAGE.test(e.message);
}
