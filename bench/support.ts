/**
 * What every benchmark needs around its figures: medians, its options, the
 * machine and the load it ran under, cleaning up its own Redis keys, free
 * ports, and the one catch of a benchmark run on its own. What starts and
 * stops services is in ./stack.
 */
import { createServer, type Server } from 'node:net';
import { cpus, loadavg } from 'node:os';
import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../infra/mysql';
import type { Redis } from '../infra/redis';

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** UNLINK every key matching `pattern`, a SCAN page at a time (never KEYS on a shared Redis). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** `--name N` from a benchmark's arguments: a whole number ≥ 1, else `fallback`. */
export function option(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`);
  return value;
}

/** `count` distinct loopback ports nothing listens on right now (all held open at once, so no two are the same). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolvePort, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolvePort((server.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((closed) => (s.listening ? s.close(() => closed()) : closed()))));
  }
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** The load average, `1-min 5-min 15-min`: every figure quoted comes with the load it ran under. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** `load average 1.23 1.10 0.98 (1, 5, 15 min)`: printed at a benchmark's start and end (and beside its figures). */
export function loadLine(): string {
  return `load average ${loadAverage()} (1, 5, 15 min)`;
}

/** Milliseconds as the benchmarks print them: 3 significant digits or so (`123 ms`, `12.3 ms`, `1.23 ms`, `0.12 ms`). */
export function ms(x: number): string {
  return x >= 100 ? `${x.toFixed(0)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`;
}

/** The machine, for the figures' context: CPU and cores, Node, and the versions of the services given. */
export async function machineLines(redis?: Redis, mysql?: Pool): Promise<string[]> {
  const cpu = cpus();
  const lines = [`machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`];
  if (redis) lines.push(`redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'}`);
  if (mysql) {
    const [rows] = await mysql.query<RowDataPacket[]>('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool');
    lines.push(`mysql ${String(rows[0]!.v)} (InnoDB buffer pool ${Math.round(Number(rows[0]!.pool) / 2 ** 20)} MB)`);
  }
  return lines;
}

/**
 * Run an entry point's `main` with this process's arguments, with its one
 * catch: the error's stack on stderr, exit code 1. bench/index.ts runs
 * through it, and so does each benchmark run on its own
 * (`npx tsx bench/cli.ts --runs 3`): every file ends with
 * `if (require.main === module) standalone(main);`.
 */
export function standalone(main: (argv: readonly string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
