/**
 * Which failures of a stream request are an outage (Redis or Temporal down:
 * the consumer backs off, nothing is given up), how far one reaches (the
 * whole service, or perhaps one slot of a Redis Cluster), and which are the
 * request's own (counted towards `analyses.maxFailures`): infra/outage.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { ReplyError } from 'ioredis';
import { ParamError } from '../../core/analysis';
import { isOutage, OutageError, outageOf } from '../../infra/outage';
import { UnreachableError } from '../../infra/redis';

/** What @grpc/grpc-js throws: an Error with a numeric status `code`, `details` and `metadata`. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('outageOf', () => {
  test('a service that is not there, or cannot serve now, is an outage of the whole service', () => {
    const outages: unknown[] = [
      new UnreachableError('Redis', 'redis://127.0.0.1:1', 'connect ECONNREFUSED 127.0.0.1:1'),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection is closed.'),
      Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' }),
      new ReplyError("OOM command not allowed when used memory > 'maxmemory'."),
      new ReplyError('LOADING Redis is loading the dataset in memory'),
      new ReplyError("READONLY You can't write against a read only replica."),
      new ReplyError('NOAUTH Authentication required.'),
      new ReplyError('WRONGPASS invalid username-password pair or user is disabled.'),
      new OutageError(new Error('Temporal at 127.0.0.1:1 is unreachable')),
      new ServiceError('Failed to signalWithStart Workflow', { cause: grpcError(14, 'UNAVAILABLE: No connection established') }),
      new ServiceError('Failed to signalWithStart Workflow', { cause: grpcError(4, 'DEADLINE_EXCEEDED: Deadline exceeded') }),
      new Error('wrapped', { cause: new Error('Connection is closed.') }),
      // Somewhere in the chain, a service outage outweighs a slot's.
      Object.assign(new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'), { cause: new Error('Connection is closed.') }),
    ];
    for (const err of outages) {
      assert.equal(outageOf(err), 'service', String(err));
      assert.equal(isOutage(err), true, String(err));
    }
  });

  test('a Redis Cluster slot not served, or moving, may be one slot’s outage', () => {
    const slot: unknown[] = [
      new ReplyError('CLUSTERDOWN The cluster is down'),
      new ReplyError('CLUSTERDOWN Hash slot not served'),
      new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'),
      new Error('wrapped', { cause: new ReplyError('CLUSTERDOWN Hash slot not served') }),
    ];
    for (const err of slot) {
      assert.equal(outageOf(err), 'slot', String(err));
      assert.equal(isOutage(err), true, String(err));
    }
  });

  test('a failure of the request itself is not', () => {
    const own: unknown[] = [
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      // An ACL that refuses a key (a reply list outside the user's key patterns) refuses it on every try: the request's own.
      new ReplyError('NOPERM No permissions to access a key'),
      new ReplyError('NOPERM this user has no permissions to access one of the keys used as arguments'),
      new SyntaxError('Unexpected token o in JSON at position 1'),
      new ServiceError('Failed to signalWithStart Workflow', { cause: grpcError(3, 'INVALID_ARGUMENT: WorkflowId length exceeds limit.') }),
      new ServiceError('Failed to signalWithStart Workflow', { cause: grpcError(9, 'FAILED_PRECONDITION: payload too large') }),
      new ParamError('from', 'expected a day as YYYYMMDD'),
      new Error('the source of game 5 is unreachable'),
      'a string thrown',
      undefined,
    ];
    for (const err of own) {
      assert.equal(outageOf(err), undefined, String(err));
      assert.equal(isOutage(err), false, String(err));
    }
  });
});
