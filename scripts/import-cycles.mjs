#!/usr/bin/env node
// Reports import cycles in a package's sources: between files, and between folders (a folder
// imports another when one of its files imports a file of the other; a file directly in src/,
// such as index.ts or errors.ts, counts as a folder of its own). Type-only imports count: a
// folder that needs another's types to be read still depends on it.
// Usage: node scripts/import-cycles.mjs [--graph] [src folder …]   (default: every packages/*/src)
// --graph also prints which folders each folder imports. Exits 1 when it finds a cycle.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The folder of a file, or the file itself when it lies directly in the root. */
function unitOf(path) {
  const folder = dirname(path);
  return folder === '.' ? path : folder;
}

/** Relative imports of a file, resolved to source files (`./x.js` → `./x.ts`). */
function importsOf(file) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
    if (existsSync(target)) targets.push(target);
  }
  return targets;
}

/** Strongly connected components with more than one node, or a node importing itself (Tarjan). */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const args = process.argv.slice(2);
const showGraph = args.includes('--graph');
const given = args.filter((arg) => arg !== '--graph');
const roots = given.length > 0 ? given : readdirSync('packages').map((name) => join('packages', name, 'src'));
let failed = false;
for (const root of roots.filter((dir) => existsSync(dir))) {
  const files = new Map();
  const folders = new Map();
  for (const file of sourceFiles(root)) {
    const from = relative(root, file);
    const fromFolder = unitOf(from);
    files.set(from, new Set());
    if (!folders.has(fromFolder)) folders.set(fromFolder, new Set());
    for (const target of importsOf(file)) {
      const to = relative(root, target);
      files.get(from).add(to);
      if (unitOf(to) !== fromFolder) folders.get(fromFolder).add(unitOf(to));
    }
  }
  const fileCycles = cycles(files);
  const folderCycles = cycles(folders);
  console.log(`${root}: ${files.size} files, ${folders.size} folders (a file directly in src/ counts as one)`);
  for (const [folder, targets] of showGraph ? [...folders].sort() : []) {
    console.log(`  ${folder} → ${[...targets].sort().join(', ') || '—'}`);
  }
  for (const cycle of fileCycles) console.log(`  file cycle: ${cycle.join(' ↔ ')}`);
  for (const cycle of folderCycles) console.log(`  folder cycle: ${cycle.join(' ↔ ')}`);
  if (fileCycles.length === 0 && folderCycles.length === 0) console.log('  no cycles between files or folders');
  else failed = true;
}
process.exit(failed ? 1 : 0);
