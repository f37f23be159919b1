/** Slaves as real processes (so a test can SIGKILL one) and free ports for servers a test restarts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { StatusReader } from '../../client/status';
import { cliEnv } from './temporal';

const BIN = resolve(__dirname, '../../bin/gflow.js');

export interface SlaveProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

export function spawnSlave(config: Config, name: string): SlaveProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--slave', name], { env: cliEnv(config), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`slave ${name} exited ${code}: ${stderr}\n`);
    r(code);
  }));
  return { name, child, exited };
}

/** Wait until Temporal sees every named slave polling its own queue. */
export async function waitForSlaves(client: Client, config: Config, names: readonly string[], timeoutMs = 30_000): Promise<void> {
  const reader = new StatusReader(client, config);
  const own = names.map((n) => new Names(config.prefix).slaveQueue(n));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const live = await reader.slaves();
    if (own.every((q) => live.some((s) => s.queues.includes(q)))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`slaves ${names.join(', ')} did not start polling within ${timeoutMs} ms`);
}

export async function stopSlaves(slaves: readonly SlaveProcess[]): Promise<void> {
  for (const s of slaves) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  await Promise.all(slaves.map((s) => s.exited));
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
