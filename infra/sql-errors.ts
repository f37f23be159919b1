/** Classifying MySQL errors that mean something to an operator. */

/** MySQL's "unknown database" (1049) or "table doesn't exist" (1146): the installation is not migrated. */
export function isMissingSchema(err: unknown): boolean {
  const errno = (err as { errno?: number } | null)?.errno;
  return errno === 1049 || errno === 1146;
}
