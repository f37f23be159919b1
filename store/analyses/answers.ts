/**
 * Answers of analyses in Redis: cached under a key made of the analysis and
 * its normalised parameters, for a TTL, and published on
 * `<prefix>:analyses` when computed, so a front end that asks a common
 * question reads it from Redis and one that subscribes hears of new answers.
 *
 *     redis-cli SUBSCRIBE gflow:analyses
 *
 * Publishing is Redis pub/sub (at most once, to whoever listens then): the
 * cache and the reply lists are what a front end relies on.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../../infra/redis';
import { canonicalParams, type AnalysisAnswer, type NormalParams } from '../../core/analysis';
import type { Names } from '../../core/names';

/** The channel every computed answer is published on. */
export function analysesChannel(names: Names): string {
  return names.redisKey('analyses');
}

/** A short, stable digest of an analysis and its parameters. */
export function paramsDigest(analysis: string, params: NormalParams): string {
  return createHash('sha1').update(`${analysis}\n${canonicalParams(params)}`).digest('hex').slice(0, 16);
}

/** Where the answer to `analysis` (`job.name`) with these parameters is cached. */
export function answerKey(names: Names, analysis: string, params: NormalParams): string {
  return names.redisKey('analysis', analysis, paramsDigest(analysis, params));
}

/** The cached answer, marked as such; `undefined` when none (or expired). */
export async function cachedAnswer(redis: Redis, names: Names, analysis: string, params: NormalParams): Promise<AnalysisAnswer | undefined> {
  const text = await redis.get(answerKey(names, analysis, params));
  if (text === null) return undefined;
  return { ...(JSON.parse(text) as AnalysisAnswer), cached: true };
}

/**
 * Cache an answer for `ttlSeconds` and publish it. A provisional answer's
 * TTL is cut at `openUntil` (when the open day it covers ends), so nobody
 * is served yesterday's "today" from the cache.
 */
export async function storeAnswer(redis: Redis, names: Names, answer: AnalysisAnswer, ttlSeconds: number, openUntil?: number, now = Date.now()): Promise<void> {
  const text = JSON.stringify({ ...answer, cached: false });
  const ttl = openUntil === undefined ? ttlSeconds : Math.min(ttlSeconds, Math.ceil((openUntil - now) / 1000));
  // An answer whose open day has already ended is published, never cached.
  if (ttl > 0) await redis.set(answerKey(names, answer.analysis, answer.params), text, 'EX', ttl);
  await redis.publish(analysesChannel(names), text);
}
