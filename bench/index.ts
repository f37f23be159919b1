/**
 * `npm run bench [name...]`: runs the benchmarks, each printing its figures
 * and the ratio against the alternative measured in the same run.
 * Not part of the tests: timings belong here, never in assertions.
 */
import { main as analyses } from './analyses';
import { main as cli } from './cli';
import { main as consoleBench } from './console';
import { main as ingest } from './ingest';
import { main as orchestration } from './orchestration';
import { main as reports } from './reports';
import { main as rerun } from './rerun';
import { main as rerunScale } from './rerun-scale';
import { standalone } from './support';

const BENCHES: Record<string, (argv: readonly string[]) => Promise<void>> = { ingest, rerun, 'rerun-scale': rerunScale, reports, orchestration, cli, console: consoleBench, analyses };

async function run(args: readonly string[]): Promise<void> {
  // `npm run bench -- reports --sql-users 1000000`: names choose benchmarks; from the first option or
  // number on (`npm run bench -- ingest 50000 --runs 1`: ingest's event count), the arguments go to them.
  const firstOption = args.findIndex((a) => a.startsWith('-') || /^\d/.test(a));
  const wanted = firstOption === -1 ? args : args.slice(0, firstOption);
  const options = firstOption === -1 ? [] : args.slice(firstOption);
  const unknown = wanted.filter((w) => !(w in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
    process.stdout.write(`\n== ${name} ==\n`);
    await BENCHES[name]!(options);
  }
}

standalone(run);
