/**
 * A rerun survives what operators fear: a slave SIGKILLed mid-rerun (the
 * other slave finishes), and the Temporal server stopped and started again
 * mid-rerun (file-backed). No report row is lost or duplicated; every
 * period has its backup and diff.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Names } from '../../core/names';
import { backedUpPeriods } from '../../store/reruns/backup';
import type { Config } from '../../infra/config';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { loadJobs } from '../../infra/jobs';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { planRerun, startRerun } from '../../client/reruns';
import { findTemporalCli } from '../../dev/temporal-cli';
import { rerunProgressQuery } from '../../workflows/messages';
import type { rerun } from '../../workflows/rerun';
import { freePort, spawnSlave, stopSlaves, waitForSlaves } from '../helpers/processes';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { testConfig } from '../helpers/temporal';

const registry = loadJobs(testConfig().jobsDir);
const dataDir = mkdtempSync(join(tmpdir(), 'gflow-test-'));
let server: DevServer;
let port: number;
let uiPort: number;
let config: Config;
let names: Names;
let client: Client;

async function startServer(): Promise<DevServer> {
  return startDevServer({ cli: findTemporalCli(), port, uiPort, dataDir });
}

before(async () => {
  [port, uiPort] = [await freePort(), await freePort()];
  server = await startServer();
  config = testConfig({ temporalAddress: server.address });
  names = new Names(config.prefix);
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  await prepareMysql(getMysql(config.mysqlUrl), names, [1, 2, 3]);
  // Slow items, so the interruptions land mid-rerun.
  await getRedis(config.redisUrl).set(names.redisKey('fx', 'slow'), '300');
});

after(async () => {
  await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), names);
  await closeRedis();
  await closeMysql();
  await client?.connection.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startFx(range: string): Promise<WorkflowHandle<typeof rerun>> {
  const input = planRerun(config, { job: 'fx', tasks: registry.tasks('fx', ['daily']), range, filters: {}, parallelism: 2, maxPeriods: 400 });
  return startRerun(client, config, input);
}

async function waitForProgress(handle: WorkflowHandle<typeof rerun>, done: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const p = await handle.query(rerunProgressQuery).catch(() => undefined);
    if (p && p.done >= done) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rerun did not reach ${done} periods`);
}

async function reportRows(days: readonly string[]): Promise<number[][]> {
  const [rows] = await getMysql(config.mysqlUrl).query(
    `SELECT game_id, day, COUNT(*) AS n FROM \`${names.schema('report')}\`.fx_daily WHERE day IN (?) GROUP BY game_id, day`,
    [days],
  );
  return (rows as Array<{ game_id: number; n: number }>).map((r) => [r.game_id, r.n]);
}

describe('rerun resilience', () => {
  test('a slave SIGKILLed mid-rerun: the other slave completes it, nothing lost or doubled', async () => {
    const slaves = [spawnSlave(config, 'a'), spawnSlave(config, 'b')];
    try {
      await waitForSlaves(client, config, ['a', 'b']);
      const handle = await startFx('20261001,20261006');
      await waitForProgress(handle, 1);
      slaves[0]!.child.kill('SIGKILL');
      const result = await handle.result();
      assert.equal(result.ok, true, JSON.stringify(result.periods.filter((p) => p.error || p.gamesFailed.length)));
      assert.equal(result.periods.length, 6);
      const days = ['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06'];
      const rows = await reportRows(days);
      assert.equal(rows.length, 18, 'one row per game and day');
      assert.ok(rows.every(([, n]) => n === 1));
      assert.deepEqual((await backedUpPeriods(getMysql(config.mysqlUrl), names, result.rerunId)).sort(), days.map((d) => d.replaceAll('-', '')));
    } finally {
      await stopSlaves(slaves);
    }
  });

  test('the Temporal server stopped and started mid-rerun: the rerun resumes and completes', async () => {
    await withSlaves(config, ['c'], async () => {
      const handle = await startFx('20261010,20261013');
      await waitForProgress(handle, 1);
      await server.stop();
      await new Promise((r) => setTimeout(r, 1000));
      server = await startServer();
      const result = await handle.result();
      assert.equal(result.ok, true, JSON.stringify(result.periods.filter((p) => p.error || p.gamesFailed.length)));
      assert.equal(result.periods.length, 4);
      assert.equal((await reportRows(['2026-10-10', '2026-10-11', '2026-10-12', '2026-10-13'])).length, 12);
    });
  });
});
