/**
 * Heartbeats on behalf of job code (a task's hooks, an analysis's compute),
 * which never calls Temporal's API itself.
 */
import { Context } from '@temporalio/activity';

/** How often gflow heartbeats for job code; the workflows' heartbeat timeout is a minute. */
const HEARTBEAT_MS = 10_000;

/**
 * Run job code while heartbeating on its behalf, so a slave that dies mid-item
 * is noticed within the heartbeat timeout (and the item retried elsewhere)
 * instead of after the item's whole time limit; `ctx.heartbeat()` still adds
 * details of its own.
 */
export async function whileBeating<T>(fn: () => Promise<T> | T): Promise<T> {
  const activity = Context.current();
  const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
