/**
 * The Temporal web UI in a real browser: against the dev server gflow
 * starts (UI and search attributes included), a finished run is listed when
 * the UI's workflow list is filtered by job or task, and not under another
 * job. Chromium comes from Debian's packages; without it this test fails
 * (the check is part of the product, not optional).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RunSummary } from '../../activities/types';
import { Names } from '../../core/names';
import type { Config } from '../../infra/config';
import { JobControl } from '../../client/control';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { loadJobs } from '../../infra/jobs';
import { createLogger } from '../../infra/logger';
import { closeMysql, getMysql } from '../../infra/mysql';
import { closeRedis, getRedis } from '../../infra/redis';
import { installSdkLogging } from '../../worker/sdk-logging';
import { findTemporalCli } from '../../dev/temporal-cli';
import { connectClient } from '../../infra/temporal';
import { freePort } from '../helpers/processes';
import { dropAll, prepareMysql } from '../helpers/reports';
import { withSlaves } from '../helpers/slaves';
import { testConfig } from '../helpers/temporal';

const CHROMIUM = process.env.GFLOW_CHROMIUM ?? '/usr/bin/chromium';
/** The UI's workflow table: one row element per listed workflow. */
const ROW = 'workflows-summary-configurable-table-row';

const scratch = mkdtempSync(join(tmpdir(), 'gflow-web-ui-'));
let server: DevServer | undefined;
let client: Client | undefined;
let config: Config;

before(async () => {
  const [port, uiPort] = [await freePort(), await freePort()];
  server = await startDevServer({ cli: findTemporalCli(process.env.GFLOW_TEMPORAL_CLI), port, uiPort, dataDir: join(scratch, 'temporal') });
  config = testConfig({ temporalAddress: server.address });
  await prepareMysql(getMysql(config.mysqlUrl), new Names(config.prefix), []);
  client = await connectClient(config);
});

after(async () => {
  if (config) await dropAll(getMysql(config.mysqlUrl), getRedis(config.redisUrl), new Names(config.prefix)).catch(() => undefined);
  await closeRedis();
  await closeMysql();
  await client?.connection.close();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the web UI lists a run when filtered by its job or task, and not under another job', async () => {
  assertChromium();
  // A failing game logs a warning per attempt: keep test output to errors. Installed only now, with
  // workers about to run: the SDK runtime it creates ends when its last worker does, and would
  // otherwise keep the test process alive.
  installSdkLogging(createLogger('temporal'), 'ERROR');
  const control = new JobControl(client!, config);
  const summary = await withSlaves(config, ['s1'], async () => {
    const [action] = await control.start('work', loadJobs(config.jobsDir).tasks('work', ['isolated']));
    return (await client!.workflow.getHandle(action!.id).result()) as RunSummary;
  });
  const runId = new Names(config.prefix).onceRunId('work', 'isolated');
  assert.equal(summary.items, 3);

  const list = (query: string) => `${server!.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  const [byJob, byTask, other] = await Promise.all([
    renderUntil(list(`GflowJob="work" AND GflowPrefix="${config.prefix}"`), (dom) => dom.includes(runId), 'byJob'),
    renderUntil(list(`GflowTask="isolated" AND GflowPrefix="${config.prefix}"`), (dom) => dom.includes(runId), 'byTask'),
    renderUntil(list(`GflowJob="nojob" AND GflowPrefix="${config.prefix}"`), (dom) => dom.includes('No Workflows Found'), 'other'),
  ]);
  for (const [name, dom] of [['job', byJob], ['task', byTask]] as const) {
    assert.ok(dom.includes(ROW), `filtered by ${name}: the UI rendered no workflow rows`);
    assert.ok(dom.includes(runId), `filtered by ${name}: the run ${runId} is not in the UI's list`);
  }
  assert.ok(!other.includes(runId), 'filtered by another job, the run must not be listed');
});

function assertChromium(): void {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    assert.fail(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set GFLOW_CHROMIUM; the web UI check needs a real browser`);
  }
}

/**
 * The page's DOM once `ready` holds: the UI loads its list through API
 * calls after the page loads, and visibility may lag a moment, so a render
 * that is not there yet is retried.
 */
async function renderUntil(url: string, ready: (dom: string) => boolean, name: string): Promise<string> {
  let dom = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    dom = await dumpDom(url, join(scratch, `chromium-${name}-${attempt}`));
    if (ready(dom)) return dom;
  }
  return dom;
}

function dumpDom(url: string, profile: string): Promise<string> {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${profile}`,
    // Virtual time runs the page's timers and waits for its API fetches before dumping.
    '--virtual-time-budget=10000',
    '--dump-dom', url,
  ];
  return new Promise((resolve, reject) => {
    // Its own process group, so a hung browser and its helpers can be killed together.
    const child = spawn(CHROMIUM, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && out.length > 0) resolve(out);
      else reject(new Error(`chromium exited ${code} on ${url}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}
