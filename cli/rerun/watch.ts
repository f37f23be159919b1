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
  const timer = setInterval(() => {
    handle
      .query(rerunProgressQuery)
      .then((p) => {
        const line = render(p, tty);
        if (line === lastLine) return;
        lastLine = line;
        out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      })
      // The first workflow task may not have run yet, or the run is continuing as new: try again next tick.
      .catch(() => undefined);
  }, 1000);
  try {
    return await Promise.race([finished, detached]);
  } finally {
    clearInterval(timer);
    process.removeListener('SIGINT', detach);
    if (tty && lastLine) out.write('\n');
  }
}

function render(p: RerunProgress, bar: boolean): string {
  const elapsed = Math.max(1, (Date.now() - Date.parse(p.startedAt)) / 1000);
  const rate = p.done / elapsed;
  const figures = `${p.done}/${p.total} periods · ${p.gamesFailed} games failed · ${p.checksFailed} checks failed · ${formatDuration(elapsed)} · ${rate.toFixed(2)} periods/s`;
  if (!bar) return figures;
  const width = 24;
  const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${figures}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
