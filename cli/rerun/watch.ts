/**
 * Following a rerun from the terminal: live progress (a bar on a terminal,
 * plain lines otherwise) until it ends, or until Ctrl-C detaches — the
 * rerun itself goes on in Temporal.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { RerunProgress } from '../../workflows/messages';
import type { rerun, RerunResult } from '../../workflows/rerun';
import { lazyImport } from '../context';

export type WatchOutcome = { readonly kind: 'finished'; readonly result: RerunResult } | { readonly kind: 'detached' };

export async function watchRerun(handle: WorkflowHandle<typeof rerun>, out: NodeJS.WriteStream = process.stderr): Promise<WatchOutcome> {
  const { rerunProgressQuery } = lazyImport('workflows/messages');
  const tty = Boolean(out.isTTY);
  let lastLine = '';
  let detach: () => void = () => undefined;
  const detached = new Promise<WatchOutcome>((resolve) => {
    detach = () => resolve({ kind: 'detached' });
    process.once('SIGINT', detach);
  });
  const finished = handle.result().then((result): WatchOutcome => ({ kind: 'finished', result }));
  // One poll at a time, and the last one awaited before returning: the caller closes the
  // connection next, and a query still retrying on a closed channel would crash the process.
  let polling: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (polling) return;
    polling = handle
      .query(rerunProgressQuery)
      .then(async (p) => ({ p, items: await itemsInRunningPeriods(handle, p.running) }))
      .then(({ p, items }) => {
        const line = render(p, items, tty);
        if (line === lastLine) return;
        lastLine = line;
        out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      })
      // The first workflow task may not have run yet, or the run is continuing as new: try again next tick.
      .catch(() => undefined)
      .finally(() => {
        polling = undefined;
      });
  }, 1000);
  try {
    return await Promise.race([finished, detached]);
  } finally {
    clearInterval(timer);
    await polling;
    process.removeListener('SIGINT', detach);
    if (tty && lastLine) out.write('\n');
  }
}

/** Games done / total inside the periods being recomputed now: each is a child run answering its own progress query. */
export async function itemsInRunningPeriods(handle: WorkflowHandle<typeof rerun>, running: readonly string[]): Promise<{ done: number; total: number }> {
  const { progressQuery } = lazyImport('workflows/messages');
  const all = await Promise.all(
    running.map((label) =>
      handle.client
        .getHandle(`${handle.workflowId}.${label}`)
        .query(progressQuery)
        // Not started yet (waiting for its period), or just finished: it counts as nothing in flight.
        .catch(() => ({ done: 0, total: 0 })),
    ),
  );
  return all.reduce((sum, p) => ({ done: sum.done + p.done, total: sum.total + p.total }), { done: 0, total: 0 });
}

function render(p: RerunProgress, items: { done: number; total: number }, bar: boolean): string {
  const elapsed = Math.max(1, (Date.now() - Date.parse(p.startedAt)) / 1000);
  const rate = p.done / elapsed;
  const inFlight = items.total > 0 ? ` (+ ${items.done}/${items.total} games in ${p.running.length} running)` : '';
  const figures = `${p.done}/${p.total} periods${inFlight} · ${p.gamesFailed} games failed · ${p.checksFailed} checks failed · ${formatDuration(elapsed)} · ${rate.toFixed(2)} periods/s`;
  if (!bar) return figures;
  const width = 24;
  const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${figures}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
