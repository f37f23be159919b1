/** Judging the code versions (build ids) live slaves report, as `gflow top` shows them. Pure code. */

/** One live worker's code version, as `gflow top` judges it. */
export interface VersionVerdict {
  /** Why this slave's code looks out of step; absent when it matches. */
  readonly warning?: string;
}

/**
 * Flags slaves whose build id differs from this checkout's, or (when this
 * checkout is not what the slaves run, e.g. `top` from a laptop) from the
 * build id most slaves run. Slaves without a build id (foreign workers,
 * older gflow) are flagged as unknown.
 */
export function judgeVersions(buildIds: ReadonlyArray<string | undefined>, checkout: string): VersionVerdict[] {
  const counts = new Map<string, number>();
  for (const id of buildIds) if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  const tie = majority !== undefined && [...counts.values()].filter((n) => n === counts.get(majority)).length > 1;
  return buildIds.map((id) => {
    if (id === undefined) return { warning: 'code version unknown (not a gflow slave, or an older gflow)' };
    if (id === checkout) return {};
    const others = counts.size > 1 && !tie && id !== majority && majority !== checkout ? `, and from most slaves (${majority})` : '';
    return { warning: `runs code ${id}, not this checkout's ${checkout}${others}` };
  });
}
