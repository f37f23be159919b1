/**
 * Bounded concurrency inside a workflow: `limit` lanes pull the next index
 * in order, so the schedule of activities is deterministic on replay.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

/**
 * Cut `items` into units, in order: an item `alone` says so is a unit of its
 * own; the others are grouped, at most `size` to a unit (the last one may be
 * smaller). A unit starts where its first item stood, so units run in
 * roughly the items' order.
 */
export function cutBatches<T>(items: readonly T[], size: number, alone: (item: T) => boolean): T[][] {
  const units: T[][] = [];
  let open: T[] | undefined;
  for (const item of items) {
    if (alone(item)) {
      units.push([item]);
      continue;
    }
    if (!open || open.length >= size) {
      open = [];
      units.push(open);
    }
    open.push(item);
  }
  return units;
}
