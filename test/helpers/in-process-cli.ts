/**
 * One gflow command run in this process (spawning the CLI costs a second;
 * the command's parsing and printing are what these tests check), with its
 * stdout captured and the installation's prefix set for the command to read.
 */
import { Command, CommanderError } from 'commander';
import { throwingOnUsage } from '../../cli/index';
import { isUserError } from '../../core/errors';

export async function runInProcess(command: Command, args: readonly string[], prefix: string): Promise<{ code: number; out: string }> {
  const env = { GFLOW_PREFIX: process.env.GFLOW_PREFIX, GFLOW_CONFIG: process.env.GFLOW_CONFIG };
  process.env.GFLOW_PREFIX = prefix;
  delete process.env.GFLOW_CONFIG;
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // Commands write text; the test runner's own reports to its parent are bytes, and must still reach it.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    typeof chunk === 'string' ? ((out += chunk), true) : (write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
  try {
    const program = new Command('gflow').option('-v, --verbose').option('--config <file>').exitOverride();
    program.addCommand(throwingOnUsage(command));
    await program.parseAsync(['node', 'gflow', command.name(), ...args]);
    return { code: 0, out };
  } catch (err) {
    if (isUserError(err)) return { code: err.exitCode, out: out + err.message };
    // commander printed its own message to stderr; as cli/index.ts reportError: help is no error, the rest is usage.
    if (err instanceof CommanderError) return { code: err.code.startsWith('commander.help') ? 0 : 2, out };
    throw err;
  } finally {
    process.stdout.write = write;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
