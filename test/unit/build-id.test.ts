/**
 * The code version: a hash of the code a slave runs that changes when that
 * code changes and not otherwise, and the verdict `gflow top` shows.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { computeBuildId, judgeVersions } from '../../worker/build-id';
import { parseIdentity } from '../../client/status';

const scratch = mkdtempSync(join(tmpdir(), 'gflow-build-id-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A minimal checkout: package.json, one file per code folder, and a jobs folder. */
function checkout(name: string, jobText = 'export default 1;\n'): { root: string; jobs: string } {
  const root = join(scratch, name);
  for (const dir of ['core', 'workflows', 'activities', 'workers', 'jobs']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ version: '1.2.3' }));
  for (const dir of ['core', 'workflows', 'activities', 'workers']) writeFileSync(join(root, dir, 'index.ts'), `// ${dir}\n`);
  writeFileSync(join(root, 'jobs', 'demo.ts'), jobText);
  return { root, jobs: join(root, 'jobs') };
}

describe('computeBuildId', () => {
  test('the same code in two places has the same id', () => {
    const a = checkout('a');
    const b = join(scratch, 'b-copy');
    cpSync(a.root, b, { recursive: true });
    const id = computeBuildId(a.jobs, a.root);
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.equal(computeBuildId(join(b, 'jobs'), b), id);
  });

  test('a changed job file, code file or package version changes the id', () => {
    const base = checkout('base');
    const id = computeBuildId(base.jobs, base.root);
    const job = checkout('job', 'export default 2;\n');
    assert.notEqual(computeBuildId(job.jobs, job.root), id);
    const code = checkout('code');
    writeFileSync(join(code.root, 'workflows', 'extra.ts'), '// new workflow\n');
    assert.notEqual(computeBuildId(code.jobs, code.root), id);
    const version = checkout('version');
    writeFileSync(join(version.root, 'package.json'), JSON.stringify({ version: '1.2.4' }));
    assert.notEqual(computeBuildId(version.jobs, version.root), id);
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
