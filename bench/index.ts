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

const BENCHES: Record<string, (argv: readonly string[]) => Promise<void>> = { ingest, rerun, 'rerun-scale': rerunScale, reports, orchestration, cli, console: consoleBench, analyses };

async function run(): Promise<void> {
  // `npm run bench -- reports --sql-users 1000000`: names choose benchmarks, options go to them.
  const args = process.argv.slice(2);
  const firstOption = args.findIndex((a) => a.startsWith('-'));
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

run().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
