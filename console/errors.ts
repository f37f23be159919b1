/**
 * Errors as the console's API returns them: JSON `{ error, field }` with a
 * 4xx status for what the caller can fix (the same one-line messages the
 * CLI prints), 503 for a service that is down, 500 for a bug.
 */
import { ParamError } from '../core/analysis';
import { isUserError, messageOf } from '../core/errors';
import { UnreachableError } from '../infra/redis';
import { isMissingSchema } from '../infra/sql-errors';

/** An error with the HTTP status and the request field it is about (`null`: no one field). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  readonly error: string;
  readonly field: string | null;
}

/** Run `fn`; a usage error it throws is about `field` (the CLI's messages name flags, the API's callers name fields). */
export async function about<T>(field: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUserError(err) && err.exitCode === 2) throw new ApiError(400, err.message, field);
    throw err;
  }
}

/** The status and body of anything a route threw. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody; bug: boolean } {
  if (err instanceof ApiError) return { status: err.status, body: { error: err.message, field: err.field }, bug: false };
  const e = err as { code?: string; statusCode?: number; validation?: Array<{ instancePath?: string; params?: { missingProperty?: string; additionalProperty?: string }; message?: string }>; validationContext?: string };
  if (e.validation && e.validation.length > 0) {
    const v = e.validation[0]!;
    const field = v.params?.missingProperty ?? v.params?.additionalProperty ?? (v.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : null);
    const what = field ?? e.validationContext ?? 'request';
    const message = v.params?.additionalProperty ? `unknown field ${v.params.additionalProperty}` : `${what} ${v.message ?? 'is not valid'}`;
    return { status: 400, body: { error: message, field: field ?? null }, bug: false };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { error: 'actions take a JSON body (Content-Type: application/json)', field: 'Content-Type' }, bug: false };
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && e.statusCode === 400)) {
    return { status: 400, body: { error: `the body is not valid JSON: ${messageOf(err)}`, field: 'body' }, bug: false };
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { error: 'the body is too large', field: null }, bug: false };
  if (err instanceof UnreachableError) return { status: 503, body: { error: err.message, field: null }, bug: false };
  // A refused parameter names its field (core/analysis ParamError), wherever it was refused.
  if (err instanceof ParamError) return { status: 400, body: { error: err.message, field: err.field }, bug: false };
  if (isUserError(err)) return { status: err.exitCode === 2 ? 400 : 409, body: { error: err.message, field: null }, bug: false };
  if (isMissingSchema(err)) return { status: 503, body: { error: `${messageOf(err)}: run gflow db migrate`, field: null }, bug: false };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, body: { error: messageOf(err), field: null }, bug: false };
  return { status: 500, body: { error: `internal error: ${messageOf(err).split('\n')[0]}`, field: null }, bug: true };
}
