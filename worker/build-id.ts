/**
 * The code version a slave runs: a short hash of the source gflow executes
 * on a slave (core, workflows, activities, workers, the jobs folder) and the
 * package version. Two processes with the same id run the same code; `gflow
 * top` compares the ids of live slaves with each other and with this
 * checkout, as the seed's `scopy` kept slaves in step.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const CODE_DIRS = ['core', 'workflows', 'activities', 'workers'] as const;
/** Folders that hold no code a slave runs, even inside a jobs folder. */
const SKIPPED = new Set(['node_modules', '.git', '.gflow', 'dist']);
const ID_LENGTH = 12;

const cache = new Map<string, string>();

/**
 * The build id of the code under `root` with the jobs in `jobsDir`.
 * Memoised per process: a process runs the code it loaded at start, so the
 * id it reports must not change when the files change under it.
 */
export function computeBuildId(jobsDir: string, root: string = ROOT): string {
  const key = `${root}\0${resolve(jobsDir)}`;
  let id = cache.get(key);
  if (id === undefined) {
    id = hashTree(root, resolve(jobsDir));
    cache.set(key, id);
  }
  return id;
}

function hashTree(root: string, jobsDir: string): string {
  const hash = createHash('sha256');
  hash.update(`version ${packageVersion(root)}\n`);
  const sections: Array<[label: string, dir: string]> = [...CODE_DIRS.map((d) => [d, join(root, d)] as [string, string]), ['jobs', jobsDir]];
  for (const [label, dir] of sections) {
    // Paths are hashed relative to their section, so two checkouts in different places agree.
    for (const file of listFiles(dir)) {
      hash.update(`${label}/${relative(dir, file)}\n`);
      hash.update(readFileSync(file));
      hash.update('\n');
    }
  }
  return hash.digest('hex').slice(0, ID_LENGTH);
}

function packageVersion(root: string): string {
  try {
    const parsed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Every regular file under `dir`, sorted so the hash does not depend on directory order. */
function listFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    if (SKIPPED.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) out.push(...listFiles(path));
    else if (stat?.isFile()) out.push(path);
  }
  return out;
}

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
