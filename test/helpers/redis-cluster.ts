/**
 * A real Redis Cluster of three masters on loopback, for one test file:
 * three `redis-server --cluster-enabled yes` on free ports (data and cluster
 * bus), joined by `redis-cli --cluster create`, ready once every node says
 * `cluster_state:ok`. Its nodes can be stopped and started again (their
 * `nodes.conf` keeps the cluster) to test an outage; `stop()` ends them and
 * removes their folder. Also a plain redis-server of one's own. Either may
 * speak TLS only, with certificates from {@link makeTestCertificates}.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes';

const run = promisify(execFile);

/** A test CA and a server certificate it signed, for 127.0.0.1 and localhost: the files' paths. */
export interface TestCertificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A fresh CA and a server certificate and key signed by it, in `dir` (openssl). */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { timeout: 30_000 });
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=gflow test CA');
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  await writeFile(f('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('san.cnf'));
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** redis-server's arguments to serve TLS only on `port` (clients need not present a certificate). */
function tlsServerArgs(port: number, tls: TestCertificates): string[] {
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no'];
}

/** redis-cli's arguments to talk TLS, trusting the test CA. */
export function tlsCliArgs(tls: TestCertificates | undefined): string[] {
  return tls === undefined ? [] : ['--tls', '--cacert', tls.ca];
}

export interface RedisCluster {
  /** `redis+cluster://[:password@]127.0.0.1:P1,127.0.0.1:P2` (`rediss+cluster://` with TLS): two of the three masters as seeds, the client finds the third. */
  readonly url: string;
  /** The masters' ports. */
  readonly ports: readonly number[];
  /** The password, if the cluster has one. */
  readonly password: string | undefined;
  /** `redis-cli` against one node, with the password: its stdout. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stop every node (SIGKILL: an outage, not a shutdown); their state stays on disk. */
  kill(): Promise<void>;
  /** Start the nodes again on the same ports, and wait until the cluster is ok. */
  restart(): Promise<void>;
  /** Stop every node and remove the folder. */
  stop(): Promise<void>;
}

const MASTERS = 3;

export async function startRedisCluster(options: { password?: string; timeoutMs?: number; tls?: TestCertificates } = {}): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'gflow-cluster-'));
  const ports: number[] = [];
  const busPorts: number[] = [];
  // Distinct ports: freePort may hand out a port it handed out before, once closed.
  while (ports.length < MASTERS) {
    const [port, bus] = [await freePort(), await freePort()];
    if (port !== bus && ![...ports, ...busPorts].includes(port) && ![...ports, ...busPorts].includes(bus)) {
      ports.push(port);
      busPorts.push(bus);
    }
  }
  const auth = [...(options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning']), ...tlsCliArgs(options.tls)];
  const timeoutMs = options.timeoutMs ?? 30_000;
  let children: ChildProcess[] = [];

  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { timeout: 10_000 })).stdout;

  const startNodes = async () => {
    children = ports.map((port, i) => {
      const args = [...(options.tls ? [...tlsServerArgs(port, options.tls), '--tls-cluster', 'yes'] : ['--port', String(port)]), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
      args.push('--cluster-node-timeout', '2000', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', join(dir, `redis-${port}.log`));
      if (options.password !== undefined) args.push('--requirepass', options.password, '--masterauth', options.password);
      return spawn('redis-server', args, { stdio: 'ignore' });
    });
    for (const port of ports) await until(async () => (await cli(port, 'ping').catch(() => '')).trim() === 'PONG', timeoutMs, `redis-server on port ${port} did not start`);
  };
  const clusterOk = () => until(async () => (await Promise.all(ports.map((p) => cli(p, 'cluster', 'info').catch(() => '')))).every((info) => info.includes('cluster_state:ok')), timeoutMs, 'the cluster did not reach cluster_state:ok');
  const killNodes = async () => {
    const exits = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(exits);
  };

  try {
    await startNodes();
    await run('redis-cli', [...auth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: timeoutMs });
    await clusterOk();
  } catch (err) {
    await killNodes();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const userinfo = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    url: `${options.tls ? 'rediss' : 'redis'}+cluster://${userinfo}127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
    ports,
    password: options.password,
    cli,
    kill: killNodes,
    async restart() {
      await startNodes();
      await clusterOk();
    },
    async stop() {
      await killNodes();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A plain redis-server of one's own on a free loopback port (no persistence), for what a test may not do to the shared one. */
export async function startRedisServer(options: { tls?: TestCertificates } = {}): Promise<{ readonly url: string; readonly port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const listen = options.tls ? tlsServerArgs(port, options.tls) : ['--port', String(port)];
  const child = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ping = () => run('redis-cli', ['-p', String(port), ...tlsCliArgs(options.tls), 'ping']).catch(() => ({ stdout: '' }));
  await until(async () => (await ping()).stdout.trim() === 'PONG', 10_000, `redis-server on port ${port} did not start`);
  return {
    url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
