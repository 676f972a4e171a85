/**
 * Import cycles among our own modules (`src/` by default), type-only imports and re-exports included: a cycle
 * makes load order matter and lets layers point both ways (STYLE.md §17).
 *
 *   npx ts-node --transpile-only scripts/import-cycles.ts [dir]   prints each cycle; exit code 1 if any
 *
 * `src/import-cycles.spec.ts` runs it on `src/`, so a new cycle fails the unit tests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Every `.ts` file under `dir` (declaration files aside). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** A relative specifier as the file it names (`./x` -> x.ts or x/index.ts); null for packages and non-TS files. */
function resolveSpecifier(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** File -> the files of ours it imports (static, type-only, re-exports and dynamic `import()` alike). */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => resolveSpecifier(file, imported.fileName))
      .filter((target): target is string => target !== null && target.startsWith(root));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * One cycle per strongly connected component of the import graph (Tarjan), as paths relative to `root`,
 * starting and ending with the same file. Empty when the graph has no cycle.
 */
export function findImportCycles(rootDir: string): string[][] {
  const root = resolve(rootDir);
  const graph = importGraph(root);
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;

  const visit = (file: string): void => {
    index.set(file, next);
    lowLink.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(target)!));
      } else if (onStack.has(target)) {
        lowLink.set(file, Math.min(lowLink.get(file)!, index.get(target)!));
      }
    }
    if (lowLink.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) components.push(component);
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);

  return components.map((component) => {
    const cycle = cycleWithin(graph, new Set(component), [...component].sort()[0]);
    return cycle.map((file) => relative(root, file));
  });
}

/** A shortest path from `start` back to itself inside one component (breadth-first). */
function cycleWithin(graph: Map<string, string[]>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (!previous.has(target)) {
        previous.set(target, file);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** The top-level folder of `src/` a file belongs to (`common`, `runpod`, ...; `.` for files directly in it). */
function moduleOf(root: string, file: string): string {
  const parts = relative(root, file).split(/[\\/]/);
  return parts.length > 1 ? parts[0] : '.';
}

/** Imports from `module` into other top-level folders of `rootDir`, as `file -> imported file` (relative). */
export function importsOutOf(rootDir: string, module: string, allowed: readonly string[] = []): string[] {
  const root = resolve(rootDir);
  const found: string[] = [];
  for (const [file, targets] of importGraph(root)) {
    if (moduleOf(root, file) !== module) continue;
    for (const target of targets) {
      const into = moduleOf(root, target);
      if (into !== module && !allowed.includes(into))
        found.push(`${relative(root, file)} -> ${relative(root, target)}`);
    }
  }
  return found.sort();
}

if (process.argv[1]?.endsWith('import-cycles.ts')) {
  const cycles = findImportCycles(process.argv[2] ?? 'src');
  for (const cycle of cycles) console.log(cycle.join(' -> '));
  console.log(`${cycles.length} import cycle(s)`);
  process.exitCode = cycles.length > 0 ? 1 : 0;
}
