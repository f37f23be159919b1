/**
 * The code version a slave runs: a short hash of every gflow source file a
 * slave can load and of the job files. Two processes with the same id run the
 * same code; `gflow top` compares the ids of live slaves with each other and
 * with this checkout, as the original gflow's `scopy` kept slaves in step.
 *
 * What is hashed is derived from what is in the package, not from a list of
 * folders: every code file under the package root (so a new folder is covered
 * the day it appears) except the folders no slave loads ({@link NOT_LOADED}),
 * plus every file of the jobs folder, wherever it lives.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
/**
 * Folders under the package root that hold nothing a slave loads: tests,
 * benchmarks, documentation, dependencies and generated or local state.
 * Folders whose name starts with a dot (.git, .gflow, .ci) are skipped too.
 */
const NOT_LOADED = new Set(['test', 'bench', 'docs', 'node_modules', 'dist']);
/** Folders skipped inside a jobs folder too: dependencies and build output are no job's source. */
const NOT_SOURCE = new Set(['node_modules', 'dist']);
/**
 * What counts as code under the package root: what tsx loads (TypeScript and
 * CommonJS JavaScript) and JSON (package.json carries the version and the
 * dependency ranges, package-lock.json the dependency versions actually run,
 * tsconfig.json the `gflow` path jobs import).
 */
const CODE_FILE = /\.(ts|mts|cts|js|cjs|json)$/;
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
  const sections: Array<[label: string, dir: string, files: string[]]> = [
    ['gflow', root, listFiles(root, (name, depth) => !(depth === 0 && NOT_LOADED.has(name)) && !NOT_SOURCE.has(name), CODE_FILE)],
    // Every file of the jobs folder: a job may read data or SQL files next to its code.
    ['jobs', jobsDir, listFiles(jobsDir, (name) => !NOT_SOURCE.has(name))],
  ];
  for (const [label, dir, files] of sections) {
    // Paths are hashed relative to their section, so two checkouts in different places agree.
    for (const file of files) {
      hash.update(`${label}/${relative(dir, file)}\n`);
      hash.update(readFileSync(file));
      hash.update('\n');
    }
  }
  return hash.digest('hex').slice(0, ID_LENGTH);
}

/**
 * Every regular file under `dir` whose name matches `file`, in folders that
 * `enter` accepts (`depth` 0 for the folders directly in `dir`), sorted so the
 * hash does not depend on directory order. Dot files and folders are skipped.
 */
function listFiles(dir: string, enter: (name: string, depth: number) => boolean, file: RegExp = /./, depth = 0): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      if (enter(name, depth)) out.push(...listFiles(path, enter, file, depth + 1));
    } else if (stat?.isFile() && file.test(name)) out.push(path);
  }
  return out;
}
