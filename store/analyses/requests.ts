/**
 * The Redis request stream: a front end that only talks to Redis asks
 *
 *     XADD gflow:stream:requests * request '{"analysis":"report.retention","params":{…},"reply":"app:answers:42"}'
 *
 * and `BLPOP`s its reply list for `{"id","ok":true,"result",…}` or
 * `{"id","ok":false,"error","field"?}`. Slaves read the stream in one
 * consumer group (worker/requests.ts); a request is acknowledged only once
 * its answer is on the reply list, and answered at most once (a marker per
 * stream entry, set in the same script as the push), so a request
 * re-claimed from a slave that died is answered exactly once.
 *
 * An entry that names no usable reply list cannot be answered: it is
 * acknowledged and kept, with the reason, on `<prefix>:stream:requests:rejected`
 * (capped), where an operator finds what the front end sent. So is one that
 * failed `analyses.maxFailures` times and whose reply list does not take
 * the error reply ({@link giveUpRequest}). Those failures are counted per
 * entry in the hash `<prefix>:stream:requests:failures` ({@link countFailure}).
 */
import type { Redis } from '../../infra/redis';
import type { Names } from '../../core/names';
import { LuaScript } from '../activity/lua';
import { compareStreamIds } from '../stream-groups';

/** The stream front ends add requests to. */
export function requestStream(names: Names): string {
  return names.redisKey('stream', 'requests');
}

/** Where entries that cannot be answered are kept, with the reason. */
export function rejectedRequestStream(names: Names): string {
  return `${requestStream(names)}:rejected`;
}

/** The consumer group every slave reads requests in. */
export const REQUEST_GROUP = 'gflow-analyses';

/** How long the "answered" marker of a stream entry is kept: far beyond any re-claim. */
const ANSWERED_TTL_SECONDS = 7 * 86_400;

/** Longest reply-list key accepted. */
export const MAX_REPLY_KEY = 512;

/** Rejected entries kept (approximately): the newest ones. */
const MAX_REJECTED = 10_000;

/**
 * How long the failure counts are kept after the last failure counted: far
 * beyond the longest re-claim interval (`analyses.claimSeconds`, at most a
 * day), so an entry's count outlives the wait for its next attempt.
 */
const FAILURES_TTL_SECONDS = 7 * 86_400;

/** A parsed stream request. */
export interface StreamRequest {
  readonly analysis: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly reply: string;
}

/** What a stream entry held, or why it cannot be a request (with the reply list, when even that much could be read). */
export type ReadRequest = { readonly ok: true; readonly request: StreamRequest } | { readonly ok: false; readonly error: string; readonly field: string; readonly reply?: string };

/** Read one stream entry's fields (`request <json>`). */
export function readRequest(fields: readonly string[]): ReadRequest {
  const at = fields.findIndex((f, i) => i % 2 === 0 && f === 'request');
  if (at === -1) return { ok: false, field: 'request', error: 'the entry has no "request" field: XADD <stream> * request \'{"analysis":…,"params":{…},"reply":"<list key>"}\'' };
  let body: unknown;
  try {
    body = JSON.parse(fields[at + 1] ?? '');
  } catch {
    return { ok: false, field: 'request', error: 'the "request" field is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, field: 'request', error: 'the request must be a JSON object' };
  const { analysis, params, reply } = body as Record<string, unknown>;
  const replyKey = typeof reply === 'string' && reply.length > 0 && reply.length <= MAX_REPLY_KEY ? reply : undefined;
  if (replyKey === undefined) return { ok: false, field: 'reply', error: `reply must name a Redis list (text of 1 to ${MAX_REPLY_KEY} characters)` };
  if (typeof analysis !== 'string') return { ok: false, field: 'analysis', error: 'analysis must be "<job>.<analysis>", e.g. "report.retention"', reply: replyKey };
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    return { ok: false, field: 'params', error: 'params must be an object of name → value', reply: replyKey };
  }
  return { ok: true, request: { analysis, params: (params ?? {}) as Record<string, unknown>, reply: replyKey } };
}

/** A reply as pushed on the front end's list. */
export type Reply = { readonly id: string; readonly ok: true; readonly [field: string]: unknown } | { readonly id: string; readonly ok: false; readonly error: string; readonly field?: string };

/**
 * The "answered" marker of stream entry `entryId`. A script may only touch
 * keys of one slot on a Redis Cluster, so the marker carries a hash tag
 * chosen to land in the reply list's slot, whatever the front end named it
 * (on a single server the tag is just part of the name).
 */
export function answeredMarker(names: Names, entryId: string, replyKey: string): string {
  return `${names.redisKey('stream', 'requests', 'answered')}:{${slotTag(keySlot(replyKey))}}:${entryId}`;
}

// KEYS: marker, reply list. Push only if this entry was never answered: a retried delivery or a re-claimed request pushes nothing more.
// A reply key holding something else than a list can never take the reply (RPUSH would fail on every retry): say so instead.
const ANSWER_ONCE = new LuaScript(`
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'none' and kind ~= 'list' then return -1 end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0`);

/**
 * What {@link answerRequest} did: pushed the reply; found it pushed already
 * (a retried delivery: only acknowledged); or kept the entry on the
 * rejected stream, its reply key holding something else than a list.
 */
export type AnswerOutcome = 'pushed' | 'answered-before' | 'rejected';

/**
 * Push `reply` for stream entry `entryId` onto its reply list (once, ever),
 * then acknowledge the entry. Safe to call again: says whether this call
 * pushed. A reply key that holds another type than a list cannot be
 * answered: the entry is rejected (kept on the rejected stream, with
 * `fields` when given) and acknowledged.
 */
export async function answerRequest(redis: Redis, names: Names, entryId: string, replyKey: string, reply: Reply, fields: readonly string[] = []): Promise<AnswerOutcome> {
  const pushed = await ANSWER_ONCE.run(redis, [answeredMarker(names, entryId, replyKey), replyKey], [JSON.stringify(reply), ANSWERED_TTL_SECONDS]);
  if (pushed === -1) {
    await rejectRequest(redis, names, entryId, `reply ${JSON.stringify(replyKey)} is not a list: ${JSON.stringify(reply).slice(0, 1536)}`, fields);
    return 'rejected';
  }
  await redis.xack(requestStream(names), REQUEST_GROUP, entryId);
  return pushed === 1 ? 'pushed' : 'answered-before';
}

/** What was done with a request given up on, and where its error went. */
export interface GivenUp {
  readonly outcome: AnswerOutcome;
  /** The error the front end reads: `could not be answered after N failures: <last error>`. */
  readonly error: string;
  /** Its reply list, when the entry named one. */
  readonly reply?: string;
}

/**
 * Give up on stream entry `entryId` (its `fields` as read) after it failed
 * `failures` times, the last with `lastError`: the front end gets
 * `{"id","ok":false,"error":"could not be answered after N failures: <last error>"}`
 * on its reply list when the entry names one that takes it (once, as any
 * reply), else the entry is kept with that reason on the rejected stream;
 * acknowledged either way, and its failure count dropped.
 */
export async function giveUpRequest(redis: Redis, names: Names, entryId: string, fields: readonly string[], failures: number, lastError: string): Promise<GivenUp> {
  const error = `could not be answered after ${failures} failure${failures === 1 ? '' : 's'}: ${lastError.slice(0, 1024)}`;
  const read = readRequest(fields);
  const reply = read.ok ? read.request.reply : read.reply;
  let given: GivenUp;
  if (reply === undefined) {
    await rejectRequest(redis, names, entryId, error, fields);
    given = { outcome: 'rejected', error };
  } else {
    given = { outcome: await answerRequest(redis, names, entryId, reply, { id: entryId, ok: false, error }, fields), error, reply };
  }
  await forgetFailures(redis, names, [entryId]);
  return given;
}

/** The hash of failure counts, stream entry id → times it failed for a reason of its own. */
export function requestFailuresKey(names: Names): string {
  return `${requestStream(names)}:failures`;
}

/**
 * Count one more failure of stream entry `entryId`; its count so far. The
 * hash's expiry is pushed back with every count, so counts nobody adds to
 * any more go in the end, whatever else clears them.
 */
export async function countFailure(redis: Redis, names: Names, entryId: string): Promise<number> {
  const key = requestFailuresKey(names);
  const replies = await redis.multi().hincrby(key, entryId, 1).expire(key, FAILURES_TTL_SECONDS).exec();
  // A failed transaction is a Redis that cannot serve (EXECABORT): an error reply, as for any command.
  const [err, count] = replies?.[0] ?? [new Error(`MULTI on ${key} was discarded`), undefined];
  if (err) throw err;
  return Number(count);
}

/** Drop the failure counts of `entryIds`: given up, or handled after all. */
export async function forgetFailures(redis: Redis, names: Names, entryIds: readonly string[]): Promise<void> {
  if (entryIds.length > 0) await redis.hdel(requestFailuresKey(names), ...entryIds);
}

/**
 * Drop the counts of entries no longer pending in the group: those older
 * than its oldest pending entry (every one, with none pending). Such an
 * entry was acknowledged (answered by its workflow after a failed
 * re-claim, say) and can never be pending again: its count would otherwise
 * stay as long as other failures keep the hash alive. How many were dropped.
 */
export async function pruneFailures(redis: Redis, names: Names): Promise<number> {
  const key = requestFailuresKey(names);
  const ids = await redis.hkeys(key);
  if (ids.length === 0) return 0;
  // Read after the ids: an entry pending now, counted or not, is kept.
  const summary = (await redis.call('XPENDING', requestStream(names), REQUEST_GROUP)) as unknown[];
  const oldest = summary[1];
  const gone = ids.filter((id) => typeof oldest !== 'string' || compareStreamIds(id, oldest) < 0);
  await forgetFailures(redis, names, gone);
  return gone.length;
}

/** Whether stream entry `entryId` was answered already (a re-claimed entry whose acknowledgement was lost, or raced). */
export async function isAnswered(redis: Redis, names: Names, entryId: string, replyKey: string): Promise<boolean> {
  return (await redis.exists(answeredMarker(names, entryId, replyKey))) === 1;
}

/**
 * An entry that cannot be answered (no reply list to answer on): keep it
 * with the reason on the rejected stream, then acknowledge it (it will
 * never become answerable). Kept first, so a crash in between loses nothing.
 */
export async function rejectRequest(redis: Redis, names: Names, entryId: string, reason: string, fields: readonly string[] = []): Promise<void> {
  const raw = JSON.stringify(fields).slice(0, 2048);
  await redis.xadd(rejectedRequestStream(names), 'MAXLEN', '~', MAX_REJECTED, '*', 'id', entryId, 'reason', reason, 'entry', raw);
  await redis.xack(requestStream(names), REQUEST_GROUP, entryId);
}

/**
 * Redis Cluster's slot of `key`: CRC16 of the key, or of its hash tag (the
 * text inside the first `{…}`, when not empty). Not ioredis's
 * `cluster-key-slot`: it hashes `foo{}{bar}` by `bar`, where Redis, which
 * checks a script's keys, hashes the whole key (test/integration/redis-cluster.test.ts).
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return crc16(Buffer.from(close > open + 1 ? key.slice(open + 1, close) : key)) % SLOTS;
}

const SLOTS = 16_384;
let slotTags: string[] | undefined;

/** A short hash tag whose slot is `slot` (base-36 numbers, tried in order until every slot has one: once per process, a few ms). */
function slotTag(slot: number): string {
  if (!slotTags) {
    const tags = new Array<string>(SLOTS);
    for (let n = 0, found = 0; found < SLOTS; n++) {
      const tag = n.toString(36);
      const s = crc16(Buffer.from(tag)) % SLOTS;
      if (tags[s] !== undefined) continue;
      tags[s] = tag;
      found++;
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}

/** CRC16-CCITT (XModem), the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
