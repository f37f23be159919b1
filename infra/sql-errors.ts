/** Classifying MySQL errors that mean something to an operator. */

/**
 * MySQL's "unknown database" (1049), "table doesn't exist" (1146) or
 * "unknown column" (1054): the installation is not migrated, or not since
 * an upgrade added a column (a slave of the new version before `gflow db
 * migrate`). Retrying cannot mend it; the message says what to run.
 */
export function isMissingSchema(err: unknown): boolean {
  const errno = (err as { errno?: number } | null)?.errno;
  return errno === 1049 || errno === 1146 || errno === 1054;
}
