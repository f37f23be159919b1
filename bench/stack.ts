/**
 * What the benchmarks that talk to the services start, and the one tear-down
 * that removes it all again: a Temporal dev server of their own on free ports
 * (file-backed in its own temp dir, as `gflow dev`, or in memory), an own
 * prefix (`bench_<random>`) with its Config, the Redis and MySQL clients
 * (optionally a redis-server of their own), slaves, a temp dir for files.
 *
 *     const stack = await benchStack({ config: { jobsDir } });
 *     try {
 *       …
 *     } finally {
 *       await stack.close();
 *     }
 *
 * `close()` stops whatever is still running, deletes the prefix's keys, drops
 * its schemas, closes the clients, stops the servers and removes the temp
 * dirs, each step even if an earlier one failed; a failed start-up removes
 * what it had started before it throws.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Names, searchAttributes } from '../core/names';
import { startDevServer } from '../dev/dev-server';
import { findTemporalCli } from '../dev/temporal-cli';
import { loadConfig, type Config } from '../infra/config';
import { closeMysql, getMysql, type Pool } from '../infra/mysql';
import { closeRedis, getRedis, type Redis } from '../infra/redis';
import { connectClient } from '../infra/temporal';
import { LAYERS } from '../store/schema/migrations';
import { createSlave, type Slave } from '../worker/slave';
import { deleteKeys, freePort, freePorts } from './support';

/** DROP DATABASE IF EXISTS each of the prefix's schemas (by default every layer's). */
export async function dropSchemas(mysql: Pool, names: Names, layers: ReadonlyArray<(typeof LAYERS)[number]> = LAYERS): Promise<void> {
  for (const layer of layers) await mysql.query(`DROP DATABASE IF EXISTS \`${names.schema(layer)}\``);
}

/**
 * A redis-server of the benchmark's own on a free port, nothing saved, with
 * every command in its SLOWLOG (`slowlog-log-slower-than 0`, for
 * bench/reports.ts's accounting). Kill `child` to stop it.
 */
export async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--slowlog-log-slower-than', '0', '--slowlog-max-len', '1000000'], {
    stdio: 'ignore',
  });
  await new Promise<void>((resolveStart, reject) => {
    child.once('error', (err) => reject(new Error(`bench: cannot start redis-server (${err.message}); install Redis 7`)));
    child.once('spawn', () => resolveStart());
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (ping.stdout?.trim() === 'PONG') return { url, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('bench: redis-server did not answer');
}

/**
 * Where the Temporal server keeps its state: `file`, a dev server as `gflow
 * dev` starts it (`temporal server start-dev` with a database file, its own
 * temp dir, free ports); `memory`, the SDK's test environment (the same
 * binary, no file).
 */
export type TemporalKind = 'file' | 'memory';

export interface BenchTemporal {
  readonly kind: TemporalKind;
  /** host:port of its frontend. */
  readonly address: string;
  /** The test environment's own client (`memory`); a `file` server's clients connect with connectClient. */
  readonly client?: Client;
  /** Stop the server and remove its files. */
  stop(): Promise<void>;
}

/** A Temporal server of the benchmark's own, with gflow's search attributes; the `temporal` CLI from GFLOW_TEMPORAL_CLI or PATH. */
export async function benchTemporal(kind: TemporalKind = 'file'): Promise<BenchTemporal> {
  const cli = findTemporalCli(process.env.GFLOW_TEMPORAL_CLI);
  if (kind === 'memory') {
    const env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: cli }, searchAttributes: Object.values(searchAttributes), extraArgs: ['--log-level', 'error'] },
    });
    return { kind, address: env.address, client: env.client, stop: () => env.teardown() };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'gflow-bench-temporal-'));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  try {
    const [port, uiPort] = await freePorts(2);
    const server = await startDevServer({ cli, port: port!, uiPort: uiPort!, dataDir });
    return {
      kind,
      address: server.address,
      stop: async () => {
        try {
          await server.stop();
        } finally {
          await removeDir();
        }
      },
    };
  } catch (err) {
    await removeDir();
    throw err;
  }
}

/** Slaves started by {@link BenchStack.startSlaves}. */
export interface BenchSlaves {
  readonly list: readonly Slave[];
  /** Shut them down and wait until they have stopped; again, nothing. */
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  /**
   * The Temporal server: `file` (a dev server as `gflow dev` runs it), `memory`, or `none`.
   * @defaultValue `'file'`
   */
  readonly temporal?: TemporalKind | 'none';
  /**
   * A redis-server of the benchmark's own ({@link startRedis}) instead of the configured Redis.
   * @defaultValue `false`
   */
  readonly ownRedis?: boolean;
  /**
   * Settings over loadConfig()'s, e.g. `{ jobsDir: resolve(__dirname, 'jobs'), tz: 'UTC' }`; the
   * prefix, the Temporal address and (with `ownRedis`) the Redis URL are the stack's.
   */
  readonly config?: Partial<Config>;
  /**
   * Names the temp dir: `gflow-bench-<name>-XXXXXX`.
   * @defaultValue `'stack'`
   */
  readonly name?: string;
}

export interface BenchStack {
  /** An own prefix, `bench_<8 hex digits>`. */
  readonly names: Names;
  readonly config: Config;
  readonly redis: Redis;
  readonly mysql: Pool;
  /** The stack's Temporal server, unless `temporal: 'none'`. */
  readonly temporal: BenchTemporal | undefined;
  /** A temp dir for the benchmark's files. */
  readonly dir: string;
  /** A Temporal client, connected on first use. */
  client(): Promise<Client>;
  /** Slaves `ids` (as `gflow slave`) running in this process, with `config` (the stack's by default); if one fails to start, those that did are stopped before it throws. */
  startSlaves(ids: readonly string[], options?: { readonly config?: Config; readonly shutdownGraceSeconds?: number }): Promise<BenchSlaves>;
  /** Run `step` at tear-down, before what was set up earlier (last added, first run). */
  onClose(what: string, step: () => unknown): void;
  /** Tear everything down; each step runs even if an earlier one failed, and the failures are thrown together. */
  close(): Promise<void>;
}

/** Steps run last-added first, every one of them; their failures thrown together at the end. */
class Teardown {
  private readonly steps: Array<{ what: string; step: () => unknown }> = [];

  add(what: string, step: () => unknown): void {
    this.steps.push({ what, step });
  }

  async run(): Promise<void> {
    const failures: Error[] = [];
    for (const { what, step } of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(new Error(`bench tear-down, ${what}: ${(err as Error).message}`, { cause: err }));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `bench tear-down: ${failures.map((f) => f.message).join('; ')}`);
  }
}

/** Start a benchmark's services (see the file's comment); `close()` it in a finally. */
export async function benchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const names = new Names(`bench_${randomBytes(4).toString('hex')}`);
  const teardown = new Teardown();
  try {
    const dir = await mkdtemp(join(tmpdir(), `gflow-bench-${options.name ?? 'stack'}-`));
    teardown.add('temp dir', () => rm(dir, { recursive: true, force: true }));
    const own = options.ownRedis ? await startRedis() : undefined;
    if (own) teardown.add('own redis-server', () => own.child.kill());
    const kind = options.temporal ?? 'file';
    const temporal = kind === 'none' ? undefined : await benchTemporal(kind);
    if (temporal) teardown.add('Temporal server', () => temporal.stop());
    const config: Config = {
      ...loadConfig(),
      ...options.config,
      prefix: names.prefix,
      ...(temporal && { temporalAddress: temporal.address }),
      ...(own && { redisUrl: own.url }),
    };
    const redis = getRedis(config.redisUrl);
    const mysql = getMysql(config.mysqlUrl);
    teardown.add('Redis and MySQL clients', () => Promise.all([closeRedis(), closeMysql()]));
    teardown.add('schemas', () => dropSchemas(mysql, names));
    teardown.add('keys', () => deleteKeys(redis, `${names.prefix}:*`));

    let client: Promise<Client> | undefined;
    return {
      names,
      config,
      redis,
      mysql,
      temporal,
      dir,
      client: () => {
        if (client) return client;
        if (temporal?.client) return (client = Promise.resolve(temporal.client));
        client = connectClient(config);
        // A client that never connected has nothing to close (its failure went to the caller).
        teardown.add('Temporal client', async () => (await client!.catch(() => undefined))?.connection.close());
        return client;
      },
      startSlaves: async (ids, { config: slaveConfig = config, shutdownGraceSeconds = 5 } = {}) => {
        const created = await Promise.allSettled(ids.map((slave) => createSlave({ config: slaveConfig, slave, shutdownGraceSeconds })));
        const list = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
        // A slave created holds a Temporal connection until it has run: run then, and stopped at once, if another failed.
        const running = list.map((s) => s.run());
        let stopped: Promise<void> | undefined;
        const stop = () =>
          (stopped ??= (async () => {
            for (const s of list) s.shutdown();
            await Promise.all(running);
          })());
        const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
        if (failed) {
          await stop().catch((cleanup: unknown) => process.stderr.write(`bench: stopping the slaves started beside one that failed: ${(cleanup as Error).message}\n`));
          throw failed.reason;
        }
        teardown.add(`slaves ${ids.join(', ')}`, stop);
        return { list, stop };
      },
      onClose: (what, step) => teardown.add(what, step),
      close: () => teardown.run(),
    };
  } catch (err) {
    await teardown.run().catch((cleanup: unknown) => process.stderr.write(`bench: after a failed start-up: ${(cleanup as Error).message}\n`));
    throw err;
  }
}
