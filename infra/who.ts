/** Who is running this command: the OS user and host, recorded in the ledger with what they start. */
import { hostname, userInfo } from 'node:os';
import { usageError } from '../core/errors';
import { MAX_REASON_LENGTH, type StartedBy } from '../core/outcome';

/**
 * This process's user and host, with the operator's `--reason`.
 * @throws UserError when the reason is empty, too long or has control characters.
 */
export function startedBy(reason?: string): StartedBy {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still says who.
    user = String(process.getuid?.() ?? 'unknown');
  }
  if (reason === undefined) return { user, host: hostname() };
  return { user, host: hostname(), reason: checkReason(reason) };
}

function checkReason(reason: string): string {
  // eslint-disable-next-line no-control-regex
  if (reason.trim() === '' || reason.length > MAX_REASON_LENGTH || /[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/.test(reason)) {
    throw usageError(`--reason must be text of 1 to ${MAX_REASON_LENGTH} characters without control characters, got ${reason.length} characters`);
  }
  return reason.trim();
}
