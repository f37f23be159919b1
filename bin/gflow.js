#!/usr/bin/env node
// gflow runs its TypeScript (and the user's job files) directly through tsx:
// no build step between editing a job and running it.
require('tsx/cjs');
require('../cli/index.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
