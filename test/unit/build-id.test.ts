/**
 * The code version: a hash of the code a slave runs that changes when that
 * code changes and not otherwise, and the verdict `gflow top` shows.
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { computeBuildId } from '../../worker/build-id';
import { judgeVersions } from '../../core/versions';
import { parseIdentity } from '../../client/status';

const scratch = mkdtempSync(join(tmpdir(), 'gflow-build-id-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * One file in each place a slave loads code from, by the name the tests use
 * for it. Nested paths stand for the folders whose code sits one level down
 * (store/<store>/, cli/commands/).
 */
const LOADED: Record<string, string> = {
  core: 'core/job.ts',
  infra: 'infra/config.ts',
  store: 'store/activity/store.ts',
  workflows: 'workflows/index.ts',
  activities: 'activities/run.ts',
  worker: 'worker/slave.ts',
  client: 'client/status.ts',
  dev: 'dev/embedded.ts',
  cli: 'cli/commands/top.ts',
  'index.ts': 'index.ts',
  bin: 'bin/gflow.js',
  'jobs dir': 'jobs/report.ts',
  'a job data file': 'jobs/report/queries.sql',
};

/** Files in places no slave loads from: changing them must not change the id. */
const NOT_LOADED: Record<string, string> = {
  test: 'test/unit/period.test.ts',
  'test fixtures': 'test/fixtures/jobs/work.ts',
  docs: 'docs/architecture.md',
  bench: 'bench/index.ts',
  node_modules: 'node_modules/ioredis/index.js',
  '.gflow': '.gflow/temporal.db',
  '.git': '.git/HEAD',
  'README.md': 'README.md',
};

/** A minimal checkout: package.json, one file in each place above; its jobs folder is `<root>/jobs`. */
function checkout(name: string): { root: string; jobs: string } {
  const root = join(scratch, name);
  writeFile(join(root, 'package.json'), JSON.stringify({ name: 'gflow', version: '1.2.3' }));
  for (const file of [...Object.values(LOADED), ...Object.values(NOT_LOADED)]) writeFile(join(root, file), `// ${file}\n`);
  return { root, jobs: join(root, 'jobs') };
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The id of a fresh checkout named `name` after `change` (a fresh path each time: ids are memoised per path). */
function idAfter(name: string, change: (root: string) => void): string {
  const { root, jobs } = checkout(name);
  change(root);
  return computeBuildId(jobs, root);
}

const baseline = (() => {
  const { root, jobs } = checkout('baseline');
  return computeBuildId(jobs, root);
})();

describe('computeBuildId', () => {
  test('the same code in two places has the same id', () => {
    const a = checkout('a');
    const b = join(scratch, 'b-copy');
    cpSync(a.root, b, { recursive: true });
    const id = computeBuildId(a.jobs, a.root);
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.equal(id, baseline);
    assert.equal(computeBuildId(join(b, 'jobs'), b), id);
  });

  for (const [place, file] of Object.entries(LOADED)) {
    test(`a changed file in ${place} (${file}) changes the id`, () => {
      const id = idAfter(`changed-${place.replace(/\W/g, '_')}`, (root) => appendFileSync(join(root, file), '// changed\n'));
      assert.notEqual(id, baseline);
    });
  }

  for (const [place, file] of Object.entries(NOT_LOADED)) {
    test(`a changed file in ${place} (${file}) leaves the id alone`, () => {
      const id = idAfter(`unchanged-${place.replace(/\W/g, '_')}`, (root) => appendFileSync(join(root, file), '// changed\n'));
      assert.equal(id, baseline);
    });
  }

  test('a new file, in a known folder or in a folder no list names yet, changes the id', () => {
    assert.notEqual(idAfter('new-file', (root) => writeFile(join(root, 'workflows', 'extra.ts'), '// new workflow\n')), baseline);
    assert.notEqual(idAfter('new-folder', (root) => writeFile(join(root, 'plugins', 'hook.ts'), '// new folder\n')), baseline);
  });

  test('a removed or renamed file changes the id', () => {
    assert.notEqual(idAfter('removed', (root) => rmSync(join(root, LOADED.core!))), baseline);
    assert.notEqual(
      idAfter('renamed', (root) => {
        rmSync(join(root, LOADED.infra!));
        writeFile(join(root, 'infra', 'settings.ts'), `// ${LOADED.infra}\n`);
      }),
      baseline,
    );
  });

  test('package.json (version or dependencies) and package-lock.json change the id', () => {
    const version = idAfter('version', (root) => writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'gflow', version: '1.2.4' })));
    assert.notEqual(version, baseline);
    const deps = idAfter('deps', (root) =>
      writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'gflow', version: '1.2.3', dependencies: { ioredis: '^5' } })),
    );
    assert.notEqual(deps, baseline);
    assert.notEqual(idAfter('lock', (root) => writeFileSync(join(root, 'package-lock.json'), '{}')), baseline);
  });

  test('a jobs folder outside the checkout is hashed, whatever its files', () => {
    const { root } = checkout('external');
    const jobs = join(scratch, 'external-jobs');
    writeFile(join(jobs, 'demo.ts'), 'export default 1;\n');
    const id = computeBuildId(jobs, root);
    assert.notEqual(id, baseline);
    const otherJobs = join(scratch, 'external-jobs-2');
    writeFile(join(otherJobs, 'demo.ts'), 'export default 2;\n');
    assert.notEqual(computeBuildId(otherJobs, root), id);
    const sameJobs = join(scratch, 'external-jobs-3');
    writeFile(join(sameJobs, 'demo.ts'), 'export default 1;\n');
    writeFile(join(sameJobs, 'node_modules', 'dep', 'index.js'), '// not a job\n');
    assert.equal(computeBuildId(sameJobs, root), id);
  });

  test('the id is computed once per process: later edits do not change what a running slave reports', () => {
    const { root, jobs } = checkout('memo');
    const id = computeBuildId(jobs, root);
    appendFileSync(join(root, LOADED.worker!), '// edited while running\n');
    assert.equal(computeBuildId(jobs, root), id);
  });

  test('this checkout has an id', () => {
    assert.match(computeBuildId(join(__dirname, '../fixtures/jobs')), /^[0-9a-f]{12}$/);
  });
});

describe('judgeVersions', () => {
  test('slaves on this checkout pass', () => {
    assert.deepEqual(judgeVersions(['aaa', 'aaa'], 'aaa'), [{}, {}]);
  });

  test('a slave on other code is flagged, and named against the majority', () => {
    const verdicts = judgeVersions(['aaa', 'bbb', 'aaa'], 'aaa');
    assert.equal(verdicts[0]!.warning, undefined);
    assert.equal(verdicts[1]!.warning, "runs code bbb, not this checkout's aaa");
    assert.equal(verdicts[2]!.warning, undefined);
    const fromLaptop = judgeVersions(['aaa', 'bbb', 'aaa'], 'ccc');
    assert.equal(fromLaptop[0]!.warning, "runs code aaa, not this checkout's ccc");
    assert.equal(fromLaptop[1]!.warning, "runs code bbb, not this checkout's ccc, and from most slaves (aaa)");
  });

  test('a worker that does not say its version is flagged as unknown', () => {
    assert.match(judgeVersions([undefined], 'aaa')[0]!.warning ?? '', /unknown/);
  });
});

describe('parseIdentity', () => {
  test('a slave identity carries name, pid and build id', () => {
    assert.deepEqual(parseIdentity('s1@1234#0123456789ab'), { slave: 's1', pid: 1234, buildId: '0123456789ab' });
    assert.deepEqual(parseIdentity('db-2.eu@77#abc'), { slave: 'db-2.eu', pid: 77, buildId: 'abc' });
  });

  test('older or foreign identities parse without a build id', () => {
    assert.deepEqual(parseIdentity('s1@1234'), { slave: 's1', pid: 1234 });
    assert.deepEqual(parseIdentity('1234@host'), { slave: '1234' });
  });
});
