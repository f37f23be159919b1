/**
 * Usage errors exit 2 at every depth of the command tree: commander makes a
 * subcommand exit by itself (code 1) unless told otherwise, and a command
 * group's subcommands (`gflow reruns prune`) are made before the program
 * tells their group.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../cli/index';

/** Run the CLI in this process; its exit code and what it wrote to stderr. */
async function gflowHere(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' ? ((stderr += chunk), true) : (write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'gflow', ...args]), stderr };
  } finally {
    process.stderr.write = write;
  }
}

for (const [args, message] of [
  [['reruns', 'prune'], /required option '--older-than <age>' not specified/],
  [['analyses', 'prune'], /required option '--older-than <age>' not specified/],
  [['games', 'add'], /missing required argument 'id'/],
  [['games', 'add', '7', '--nope'], /unknown option '--nope'/],
  [['config', 'set', 'x'], /missing required argument/],
] as const) {
  test(`gflow ${args.join(' ')}: one line, exit 2`, async () => {
    const { code, stderr } = await gflowHere(args);
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
    assert.match(stderr, /^gflow: /, 'as every other refusal reads');
    // One line, and at most commander's spelling hint under it.
    const [, ...more] = stderr.trim().split('\n');
    assert.ok(more.every((l) => /^\(Did you mean .*\?\)$/.test(l)), stderr);
  });
}
