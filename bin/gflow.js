#!/usr/bin/env node
/*
 * gflow runs its TypeScript (and the user's job files) directly: no build
 * step between editing a file and running it. tsx compiles what has no
 * up-to-date compiled twin. `npm run build` (which `npm test` and `npm start`
 * run) compiles gflow's own files into dist/; this entry then loads each .ts
 * file not changed since that build from its twin in dist/.
 *
 * Why not tsx for everything: once registered, tsx hooks every .js file and
 * every module resolution, which doubles the time to load the Temporal
 * client. So with a build, tsx is registered only while a file without a
 * fresh twin loads (a job file, a file edited since the build) and removed
 * once it is loaded. Without a build, tsx runs everything, as it always did.
 *
 * A twin is compiled under its .ts file's own name, so there is still one
 * instance of each module, and everything derived from a module's location
 * (the workflow bundle's path, the code version `gflow top` compares, this
 * entry's path for the slave daemon) is the same with or without dist/.
 */
'use strict';
const Module = require('node:module');
const { readFileSync, statSync } = require('node:fs');
const { dirname, join, relative, sep } = require('node:path');

const ROOT = dirname(__dirname);
const DIST = join(ROOT, 'dist');
/**
 * When the last complete build started (`npm run build` writes the stamp
 * before compiling and moves it here once done): a file not modified since
 * was compiled as it is now, even if the build did not need to rewrite its twin.
 */
const BUILT = statSync(join(DIST, '.built'), { throwIfNoEntry: false })?.mtimeMs;
const SOURCE_MAP_COMMENT = /\/\/# sourceMappingURL=(\S+)\s*$/;

/** The compiled code of a .ts file of gflow, if the last build compiled the file as it is now. */
function compiled(file) {
  const path = relative(ROOT, file);
  if (path.startsWith('..') || path.split(sep).includes('node_modules')) return undefined;
  if (!(statSync(file).mtimeMs <= BUILT)) return undefined;
  const twin = join(DIST, path.replace(/\.ts$/, '.js'));
  let code;
  try {
    code = readFileSync(twin, 'utf8');
  } catch {
    return undefined; // not part of the build (a job file)
  }
  // Link the source map by its path from the .ts file (the only link Node follows besides data: URLs),
  // so that stack traces show the .ts file's lines.
  const link = SOURCE_MAP_COMMENT.exec(code);
  if (!link) return code;
  const map = relative(dirname(file), join(dirname(twin), link[1]));
  return `${code.slice(0, link.index)}//# sourceMappingURL=${map.split(sep).join('/')}\n`;
}

const nodeLoadJs = Module._extensions['.js'];
/** tsx's loaders and its unregister function while it is registered (a file without a fresh twin is loading). */
let tsx;

function registerTsx() {
  const unregister = require('tsx/cjs/api').register();
  tsx = { '.ts': Module._extensions['.ts'], '.js': Module._extensions['.js'], unregister };
  Module._extensions['.ts'] = loadTs; // twins still win while tsx is registered
}

function unregisterTsx() {
  const { unregister } = tsx;
  tsx = undefined;
  unregister();
  Module._extensions['.ts'] = loadTs;
  Module._extensions['.js'] = loadJs;
  process.setSourceMapsEnabled(true); // tsx turns them off when it goes
}

/** Load `file` through tsx, registered for as long as the load takes (nested loads included). */
function throughTsx(module, file, extension) {
  if (tsx) return tsx[extension](module, file);
  registerTsx();
  try {
    return tsx[extension](module, file);
  } finally {
    unregisterTsx();
  }
}

function loadTs(module, file) {
  const code = compiled(file);
  if (code === undefined) return throughTsx(module, file, '.ts');
  if (!tsx) return module._compile(code, file);
  // A twin required from a file tsx compiles (gflow's API from a job file) loads, with what it requires, without tsx.
  unregisterTsx();
  try {
    return module._compile(code, file);
  } finally {
    registerTsx();
  }
}

/**
 * Packages load as Node loads them; other JavaScript (a job file in .js or
 * .mts) may need tsx, as before. While tsx is registered this runs only for
 * what tsx declines, which Node loads.
 */
function loadJs(module, file) {
  if (tsx || file.includes(`${sep}node_modules${sep}`)) return nodeLoadJs(module, file);
  return throughTsx(module, file, '.js');
}

if (BUILT === undefined) {
  require('tsx/cjs');
} else {
  process.setSourceMapsEnabled(true);
  Module._extensions['.ts'] = loadTs;
  Module._extensions['.js'] = loadJs;
}

require('../cli/index.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
