/**
 * CLI start-up benchmark: how long `gflow --help`, `gflow help restart` and
 * `gflow jobs` (against a Temporal dev server this benchmark starts) take
 * from spawn to exit, against `temporal --help` — a Go binary's start, the
 * floor a CLI can hope for — and `node -e 0`, measured in the same run.
 * gflow runs as a user runs it (bin/gflow.js, with dist/ if `npm run build`
 * made it) and, for comparison, with tsx compiling everything (no build).
 *
 * Run: `npm run bench -- cli [--runs N]`. Targets (issue "A house others can
 * live in"): --help and help <command> under 0.3 s, jobs under 1 s, on an
 * idle 2-core machine; the load average is printed with the figures.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findTemporalCli } from '../dev/temporal-cli';
import { benchTemporal } from './stack';
import { loadAverage, loadLine, machineLines, median, option, standalone } from './support';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/gflow.js');

interface Case {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Under this many seconds on an idle 2-core machine (the targets). */
  readonly target?: number;
}

/** `gflow <args>` as a user runs it. */
const gflow = (label: string, args: readonly string[], target?: number): Case => ({ label: `gflow ${label}`, command: process.execPath, args: [BIN, ...args], target });

/** The same through tsx alone: what bin/gflow.js does without a build. */
const tsxOnly = (label: string, args: readonly string[]): Case => ({
  label: `gflow ${label} (tsx only, no build)`,
  command: process.execPath,
  args: ['-e', `require('tsx/cjs'); require(${JSON.stringify(join(ROOT, 'cli/index.ts'))}).main(['node', 'gflow', ...${JSON.stringify(args)}]).then((c) => { process.exitCode = c; })`],
});

/** Wall-clock seconds from spawn to exit; a failed run fails the benchmark. */
function time(c: Case, env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const run = spawnSync(c.command, c.args, { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`bench: ${c.label} exited ${run.status ?? run.signal}: ${run.stderr.trim()}`);
  return seconds;
}

export async function main(argv: readonly string[]): Promise<void> {
  const runs = option(argv, '--runs', 7);
  const temporalCli = findTemporalCli(process.env.GFLOW_TEMPORAL_CLI);
  const server = await benchTemporal('file');
  // Its own prefix: `gflow jobs` asks Temporal about schedules that do not exist, as on a fresh install.
  const env = { ...process.env, TEMPORAL_ADDRESS: server.address, GFLOW_PREFIX: `bench_${randomBytes(4).toString('hex')}` };
  const [help, jobs, helpTsx, jobsTsx] = [gflow('--help', ['--help'], 0.3), gflow('jobs', ['jobs'], 1), tsxOnly('--help', ['--help']), tsxOnly('jobs', ['jobs'])];
  const floorCase: Case = { label: 'temporal --help (the floor)', command: temporalCli, args: ['--help'] };
  const cases: Case[] = [help, gflow('help restart', ['help', 'restart'], 0.3), jobs, helpTsx, jobsTsx, floorCase, { label: 'node -e 0', command: process.execPath, args: ['-e', '0'] }];
  try {
    for (const line of await machineLines()) process.stdout.write(`${line}\n`);
    const built = existsSync(join(ROOT, 'dist/.built'));
    process.stdout.write(`${loadLine()} at start\n`);
    process.stdout.write(
      `temporal dev server ${server.address}; dist/ ${built ? 'built: gflow loads the compiled twins of files unchanged since' : 'not built (npm run build): gflow runs through tsx'}; medians of ${runs} runs after a warm-up, cases interleaved\n`,
    );
    const seconds = new Map<Case, number[]>(cases.map((c) => [c, []]));
    for (const c of cases) time(c, env); // warm-up: tsx's cache, the page cache, the server's first query
    for (let run = 0; run < runs; run++) for (const c of cases) seconds.get(c)!.push(time(c, env));

    const medianOf = (c: Case) => median(seconds.get(c)!);
    const floor = medianOf(floorCase);
    for (const c of cases) {
      const m = medianOf(c);
      const vsFloor = c === floorCase ? '' : `${(m / floor).toFixed(1)}× temporal --help`;
      const target = c.target === undefined ? '' : `target < ${c.target} s: ${m < c.target ? 'met' : 'NOT met'}`;
      const figures = [`${m.toFixed(3).padStart(6)} s`, vsFloor.padStart(22), target.padEnd(24), `runs ${seconds.get(c)!.map((s) => s.toFixed(2)).join(' ')}`];
      process.stdout.write(`  ${c.label.padEnd(38)} ${figures.join('  ')}\n`);
    }
    process.stdout.write(`  without a build (tsx only) / as run: --help ${(medianOf(helpTsx) / medianOf(help)).toFixed(1)}×, jobs ${(medianOf(jobsTsx) / medianOf(jobs)).toFixed(1)}×\n`);
    process.stdout.write(`load average ${loadAverage()} at end\n`);
  } finally {
    await server.stop();
  }
}

if (require.main === module) standalone(main);
