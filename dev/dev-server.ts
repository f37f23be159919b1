/**
 * The embedded default: a Temporal dev server (the `temporal` CLI's
 * `server start-dev`) that gflow starts itself, file-backed so runs survive
 * a restart, with gflow's search attributes registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { failure } from '../core/errors';
import { devServerSearchAttributeArgs } from '../core/search-attributes';

export interface DevServerOptions {
  cli: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** Folder for the server's database file and log. */
  dataDir: string;
  namespace?: string;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? port + 1000;
  mkdirSync(options.dataDir, { recursive: true });
  const logFile = join(options.dataDir, 'temporal.log');
  const log = openSync(logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--ip', ip,
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--db-filename', join(options.dataDir, 'temporal.db'),
    '--namespace', options.namespace ?? 'default',
    '--log-level', 'warn',
    ...devServerSearchAttributeArgs(),
  ];
  const child = spawn(options.cli, args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await Promise.race([waitForPort(ip, port, 20_000), exited.then(() => false)]);
  // The port opens before the frontend serves: on a busy machine the first call can wait many seconds more.
  if (!ready || !(await frontendServes(`${ip}:${port}`, exited))) {
    child.kill('SIGKILL');
    throw failure(`the Temporal dev server did not start on ${ip}:${port} (see ${logFile}; is the port taken?)`);
  }
  return {
    address: `${ip}:${port}`,
    uiUrl: `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${uiPort}`,
    logFile,
    stop: () => stopChild(child, exited),
  };
}

/** Whether the server's frontend answers within a minute (false if the process exits first). */
async function frontendServes(address: string, exited: Promise<unknown>): Promise<boolean> {
  const connecting = Connection.connect({ address, connectTimeout: '60s' }).then(
    async (connection) => {
      await connection.close();
      return true;
    },
    () => false,
  );
  return Promise.race([connecting, exited.then(() => false)]);
}

/** Whether something accepts TCP connections at host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(host, port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
