/**
 * The folders import each other in one direction only (docs/architecture.md
 * "Layout"): every relative import of every source file is read and checked
 * against the table below. Cycles between files are caught by madge
 * (`npm run check:imports`); this test catches the wrong direction, which a
 * cycle check sees only once both halves of the cycle exist.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');
/** Folders whose files may import anything: they are no part of what ships. */
const UNCHECKED = new Set(['test', 'bench', 'docs', 'node_modules', 'dist']);
const SOURCE_FILE = /\.(ts|mts|cts|js|cjs)$/;
/** Package files that are data, not code: any folder may read them. */
const DATA = new Set(['package.json']);

/** What a folder may import: `value` for any import, `types` (in addition) for `import type` only. */
interface Rule {
  readonly value: readonly string[];
  readonly types?: readonly string[];
}

const EVERYTHING = ['core', 'infra', 'store', 'workflows', 'activities', 'worker', 'client', 'dev', 'console', 'cli', 'jobs', 'index.ts', 'bin', 'scripts'];

/**
 * The allowed directions, as in docs/architecture.md "Layout". A folder may
 * always import its own files. `index.ts` is the public API ('gflow').
 */
const RULES: Record<string, Rule> = {
  core: { value: [] },
  infra: { value: ['core'] },
  store: { value: ['infra', 'core'] },
  workflows: { value: ['core'], types: ['activities'] },
  activities: { value: ['store', 'infra', 'core'] },
  // The slave answers the Redis request stream by asking analyses as a client does.
  worker: { value: ['client', 'activities', 'workflows', 'store', 'infra', 'core'] },
  client: { value: ['workflows', 'store', 'infra', 'core'], types: ['activities'] },
  dev: { value: ['worker', 'client', 'store', 'infra', 'core'] },
  // The web console (server and static pages): reads and acts through client/ as the CLI does; jobs/ for the report job's readers.
  console: { value: ['client', 'workflows', 'worker', 'store', 'infra', 'core', 'jobs'], types: ['activities'] },
  cli: { value: EVERYTHING },
  'index.ts': { value: ['store', 'infra', 'core'], types: ['activities'] },
  bin: { value: ['cli'] },
  scripts: { value: ['dev'] },
  // jobs import 'gflow' only (checked by its own test below), so a shipped job reads like a user's.
  jobs: { value: ['index.ts'] },
};

/**
 * Imports against the rules that are known and awaiting a decision, as
 * `file → specifier`. Each must still exist (a stale entry fails the test), so
 * the list only shrinks.
 */
const KNOWN_EXCEPTIONS = new Set<string>([]);

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
  readonly specifier: string;
  /** file:line */
  readonly at: string;
}

/** The folder a path (relative to the root) belongs to: its first segment, or the file name for files at the root. */
function folderOf(path: string): string {
  return path.split(sep)[0]!;
}

/** Every source file that ships, relative to the root. */
function sourceFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || (dir === ROOT && UNCHECKED.has(name)) || name === 'node_modules') continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE_FILE.test(name) && !name.endsWith('.d.ts')) out.push(relative(ROOT, path));
  }
  return out;
}

/**
 * The imports of one file that name gflow code: relative ones and 'gflow'.
 * Imports, re-exports, `import x = require()`, `require()`, `import()` and
 * `import('...')` types; an import is type-only when TypeScript erases it
 * (`import type`, `export type`, or every named binding marked `type`).
 */
function importsOf(file: string, text: string): Array<{ specifier: string; typeOnly: boolean; line: number }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, file.endsWith('.js') || file.endsWith('.cjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const found: Array<{ specifier: string; typeOnly: boolean; line: number }> = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined, typeOnly: boolean) => {
    if (specifier === undefined || !ts.isStringLiteralLike(specifier)) return;
    const name = specifier.text;
    if (name !== 'gflow' && !name.startsWith('.')) return;
    found.push({ specifier: name, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allTyped = clause !== undefined && !clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier, clause?.isTypeOnly === true || allTyped);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      const allTyped = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier, node.isTypeOnly || allTyped);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require') || (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve')) {
        add(node, node.arguments[0], false);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every import from one folder into another in the shipped source. */
function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles()) {
    const from = folderOf(file);
    for (const imp of importsOf(file, readFileSync(join(ROOT, file), 'utf8'))) {
      const to = imp.specifier === 'gflow' ? 'index.ts' : folderOf(relative(ROOT, resolve(ROOT, dirname(file), imp.specifier)));
      const target = to === 'index' ? 'index.ts' : to;
      if (target === from && imp.specifier !== 'gflow') continue;
      out.push({ from, to: target, typeOnly: imp.typeOnly, specifier: imp.specifier, at: `${file}:${imp.line}` });
    }
  }
  return out;
}

/** The edges `RULES` forbids, one line each. */
function violations(all: readonly Edge[]): string[] {
  return all
    .filter((e) => {
      if (DATA.has(e.to)) return false;
      const rule = RULES[e.from];
      if (rule === undefined) return true;
      return !(rule.value.includes(e.to) || (e.typeOnly && rule.types?.includes(e.to)));
    })
    .map((e) => `${e.at}: ${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''} via '${e.specifier}'`);
}

describe('layout', () => {
  const all = edges();

  test('every shipped folder has a rule', () => {
    const folders = [...new Set(sourceFiles().map(folderOf))].sort();
    const missing = folders.filter((f) => RULES[f] === undefined);
    assert.deepEqual(missing, [], `folders with no import rule (add one here and in docs/architecture.md "Layout"): ${missing.join(', ')}`);
  });

  test('folders import in the allowed directions only', () => {
    const key = (e: Edge) => `${e.at.replace(/:\d+$/, '')} → ${e.specifier}`;
    const wrong = violations(all.filter((e) => e.from !== 'jobs' && !KNOWN_EXCEPTIONS.has(key(e))));
    assert.deepEqual(wrong, [], `imports against docs/architecture.md "Layout":\n${wrong.join('\n')}`);
    const stale = [...KNOWN_EXCEPTIONS].filter((k) => !all.some((e) => key(e) === k));
    assert.deepEqual(stale, [], 'known exceptions that no longer occur: remove them from KNOWN_EXCEPTIONS');
  });

  test("jobs import only 'gflow' and each other", () => {
    const wrong = violations(all.filter((e) => e.from === 'jobs'));
    // A relative path to index.ts works only in this checkout: a job in a user's folder must say 'gflow'.
    const relativeApi = all.filter((e) => e.from === 'jobs' && e.to === 'index.ts' && e.specifier !== 'gflow').map((e) => `${e.at}: import from 'gflow', not '${e.specifier}'`);
    assert.deepEqual([...wrong, ...relativeApi], [], `job files reaching into gflow's internals:\n${[...wrong, ...relativeApi].join('\n')}`);
  });

  test('type-only imports pass only where the table allows types', () => {
    const edge = (from: string, to: string, typeOnly: boolean): Edge => ({ from, to, typeOnly, specifier: `../${to}/x`, at: `${from}/y.ts:1` });
    assert.deepEqual(violations([edge('workflows', 'activities', true), edge('client', 'activities', true), edge('activities', 'store', false)]), []);
    assert.equal(violations([edge('workflows', 'activities', false)]).length, 1);
    assert.equal(violations([edge('core', 'infra', true)]).length, 1);
    assert.equal(violations([edge('store', 'client', false)]).length, 1);
    assert.equal(violations([edge('newfolder', 'core', false)]).length, 1);
    assert.deepEqual(violations([edge('infra', 'package.json', false)]), []);
  });

  test('the checker sees each kind of import, and which are type-only', () => {
    const text = [
      "import { a } from '../core/a';",
      "import type { B } from '../store/b';",
      "import { type C, type D } from '../infra/c';",
      "import { e, type E } from '../infra/e';",
      "export { f } from './f';",
      "export type { G } from '../activities/g';",
      "import h = require('../client/h');",
      "const i = require('../dev/i');",
      "const j = import('../worker/j');",
      "let k: typeof import('../cli/k');",
      "import { defineJob } from 'gflow';",
      "import { Redis } from 'ioredis';",
      "import '../core/side-effect';",
    ].join('\n');
    const found = importsOf('jobs/x.ts', text).map((i) => `${i.line} ${i.specifier}${i.typeOnly ? ' type' : ''}`);
    assert.deepEqual(found, [
      '1 ../core/a',
      '2 ../store/b type',
      '3 ../infra/c type',
      '4 ../infra/e',
      '5 ./f',
      '6 ../activities/g type',
      '7 ../client/h',
      '8 ../dev/i',
      '9 ../worker/j',
      '10 ../cli/k type',
      "11 gflow",
      '13 ../core/side-effect',
    ]);
  });
});
