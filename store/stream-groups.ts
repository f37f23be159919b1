/**
 * Consumer-group plumbing shared by the two streams gflow reads in groups:
 * the event stream (activity/collector.ts) and the analysis request stream
 * (worker/requests.ts): create the group, forget dead consumers, and trim
 * what every group has consumed.
 *
 * Producers XADD without MAXLEN (game servers, front ends), and XACK only
 * marks an entry consumed: without trimming a stream grows until Redis is
 * full. {@link trimConsumed} removes the entries every consumer group of the
 * stream has acknowledged, gflow's and anyone else's (another team's group
 * on the same stream keeps what it has not acknowledged), and nothing when
 * the stream has no group.
 *
 * Every command names one key, the stream: fine on a Redis Cluster.
 */
import type { Redis } from '../infra/redis';
import { assertKeyPart } from './identifiers';

/** Create the consumer group (and the stream) if missing; reading starts at the stream's beginning. */
export async function ensureGroup(redis: Redis, key: string, group: string): Promise<void> {
  assertKeyPart(group, 'consumer group');
  try {
    await redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
  }
}

/** Delete group consumers with no pending messages idle longer than `idleMs`. */
export async function pruneConsumers(redis: Redis, key: string, group: string, idleMs: number): Promise<string[]> {
  const reply = (await redis.call('XINFO', 'CONSUMERS', key, group)) as unknown[][];
  const removed: string[] = [];
  for (const entry of reply) {
    const info = fieldsOf(entry);
    if (Number(info.get('pending')) === 0 && Number(info.get('idle')) > idleMs) {
      await redis.call('XGROUP', 'DELCONSUMER', key, group, String(info.get('name')));
      removed.push(String(info.get('name')));
    }
  }
  return removed;
}

/** A stream entry id, `<ms>-<seq>`, as its two numbers (each up to 2^64 - 1: BigInt). */
interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const MAX_PART = 2n ** 64n - 1n;

function parseStreamId(id: string): StreamId {
  const match = STREAM_ID.exec(id);
  const ms = match ? BigInt(match[1]!) : -1n;
  const seq = match ? BigInt(match[2]!) : -1n;
  if (ms < 0n || seq < 0n || ms > MAX_PART || seq > MAX_PART) throw new Error(`${JSON.stringify(id)} is not a stream entry id (<ms>-<seq>)`);
  return { ms, seq };
}

/** Order of two entry ids: by time, then sequence, as numbers (`"9-0"` comes before `"10-0"`, which a string compare gets wrong). */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  return x.seq === y.seq ? 0 : x.seq < y.seq ? -1 : 1;
}

/** The smallest id after `id` (`5-3` → `5-4`; the last sequence of a millisecond → the next millisecond's `-0`). */
export function nextStreamId(id: string): string {
  const { ms, seq } = parseStreamId(id);
  if (seq < MAX_PART) return `${ms}-${seq + 1n}`;
  // `18446744073709551615-18446744073709551615` has no successor; nothing can follow it, so nothing is lost by keeping it.
  return ms < MAX_PART ? `${ms + 1n}-0` : id;
}

/** One consumer group of a stream as XINFO GROUPS describes it: what {@link groupBound} reads. */
export interface GroupInfo {
  readonly name: string;
  /** The last entry delivered to one of its consumers (`0-0`: none yet). */
  readonly lastDeliveredId: string;
  /** Entries delivered to its consumers and not yet acknowledged. */
  readonly pending: number;
}

/** The consumer groups of stream `key` (XINFO GROUPS); `undefined` when the stream does not exist (any more). */
export async function streamGroups(redis: Redis, key: string): Promise<GroupInfo[] | undefined> {
  let reply: unknown[][];
  try {
    reply = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
  } catch (err) {
    // The stream was deleted (or never made).
    if (isMissing(err)) return undefined;
    throw err;
  }
  return reply.map((entry) => {
    const info = fieldsOf(entry);
    return { name: String(info.get('name')), lastDeliveredId: String(info.get('last-delivered-id')), pending: Number(info.get('pending')) };
  });
}

/**
 * The id below which `group` of stream `key` has acknowledged every entry:
 * its oldest pending entry (XPENDING), or, when it has none pending, the id
 * after its last-delivered-id. `group` is what {@link streamGroups} read a
 * moment ago; `undefined` when the group (or the stream) went away since
 * (XPENDING answers NOGROUP): don't guess, trim next time.
 */
export async function groupBound(redis: Redis, key: string, group: GroupInfo): Promise<string | undefined> {
  const after = nextStreamId(group.lastDeliveredId);
  if (group.pending === 0) return after;
  let summary: unknown[];
  try {
    summary = (await redis.call('XPENDING', key, group.name)) as unknown[];
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  // Acknowledged meanwhile (count 0, no oldest): the last-delivered-id read before still holds.
  return Number(summary[0]) > 0 && typeof summary[1] === 'string' ? summary[1] : after;
}

/**
 * The id below which every entry of stream `key` is acknowledged by every
 * consumer group: the least, over the groups ({@link streamGroups}), of the
 * group's bound ({@link groupBound}: its oldest pending entry, or the id
 * after its last-delivered-id; a group created with `$` never wants the
 * entries before it, one at `0-0` wants them all). `undefined` when the
 * stream has no group, no longer exists, or loses a group between the
 * reads: then nothing may be trimmed.
 *
 * Read without a transaction, and safe to act on even so: between the reads
 * a group only moves forward (an entry acknowledged stays acknowledged, new
 * deliveries are above the last-delivered-id read), so the bound can be
 * lower than the truth, never higher. (A group moved back by hand with
 * XGROUP SETID wants entries a trim may already have removed: trimming
 * cannot keep a promise made after it.)
 */
export async function consumedBelow(redis: Redis, key: string): Promise<string | undefined> {
  const groups = await streamGroups(redis, key);
  if (groups === undefined || groups.length === 0) return undefined;
  let least: string | undefined;
  for (const group of groups) {
    const bound = await groupBound(redis, key, group);
    if (bound === undefined) return undefined;
    if (least === undefined || compareStreamIds(bound, least) < 0) least = bound;
  }
  return least;
}

/** Entries one XTRIM frees at most (~1-2 ms of Redis): a backlog read at last is freed in steps, never in one long command. */
const TRIM_STEP = 100_000;

export interface TrimOptions {
  /**
   * Keep what was added in the last `keepMs` even once every group has read
   * it, so that a group created later (a job started after the collectors)
   * still finds the recent entries. Entry ids are their arrival times.
   * @defaultValue 0: trimmed as soon as every group has read it
   * @example trimConsumed(redis, key, { keepMs: 24 * 3_600_000 })
   */
  readonly keepMs?: number;
  /**
   * Entries one XTRIM frees at most, in an approximate trim.
   * @defaultValue 100,000 (about 1-2 ms of Redis each)
   */
  readonly step?: number;
  /**
   * Trim to the exact entry instead of whole radix-tree nodes (`MINID =`
   * rather than `~`): precise, at the cost of re-writing the first node
   * kept. For tests and small streams; the approximate trim keeps at most a
   * node's worth (`stream-node-max-entries`, 100) of consumed entries more.
   * @defaultValue false
   * @example trimConsumed(redis, key, { exact: true })
   */
  readonly exact?: boolean;
}

/**
 * Remove the entries of stream `key` that every consumer group has
 * acknowledged ({@link consumedBelow}); a stream without groups, or gone, is
 * left alone. Never removes an entry some group has pending or has not
 * been delivered yet. Cheap (two or three commands and the freeing of what
 * goes): call it every few seconds, not per batch.
 * @returns the number of entries removed.
 */
export async function trimConsumed(redis: Redis, key: string, options: TrimOptions = {}, now = Date.now()): Promise<number> {
  const consumed = await consumedBelow(redis, key);
  if (consumed === undefined) return 0;
  const kept = options.keepMs ? `${Math.max(0, Math.floor(now - options.keepMs))}-0` : undefined;
  const below = kept !== undefined && compareStreamIds(kept, consumed) < 0 ? kept : consumed;
  if (options.exact) return Number(await redis.call('XTRIM', key, 'MINID', '=', below));
  // `~`: whole nodes only, cheap. In steps of TRIM_STEP (Redis's default LIMIT, 100 nodes, would free
  // less than a busy stream gains between two trims; none, LIMIT 0, could block Redis for a backlog of millions).
  const limit = options.step ?? TRIM_STEP;
  let removed = 0;
  for (;;) {
    const freed = Number(await redis.call('XTRIM', key, 'MINID', '~', below, 'LIMIT', limit));
    removed += freed;
    if (freed < limit) return removed;
  }
}

/** A flat `name value name value …` reply (XINFO) as a map. */
function fieldsOf(entry: readonly unknown[]): Map<string, unknown> {
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
  return info;
}

/** `ERR no such key` (XINFO on a stream that is gone) or `NOGROUP` (a group, or its stream, that is gone). */
function isMissing(err: unknown): boolean {
  const message = String((err as Error | undefined)?.message ?? '');
  return message.startsWith('NOGROUP') || /^ERR no such key/.test(message);
}
