/**
 * The source import graph, read statically from the .ts files: which file
 * imports which (relative specifiers resolved to files, packages by name),
 * and whether an import is dynamic or type-only. Used to check that imports
 * run one way (cmd → parts → lib) and what `serve` can reach.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Import {
  /** A repository-relative .ts file, or a package name (`@scope/name`, `name`). */
  target: string;
  isPackage: boolean;
  dynamic: boolean;
  typeOnly: boolean;
}

/** Block comments and whole-line comments out; `//` inside strings (URLs) stays. */
function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

export function importSpecifiers(code: string): Array<{ specifier: string; dynamic: boolean; typeOnly: boolean }> {
  const source = withoutComments(code);
  const found: Array<{ specifier: string; dynamic: boolean; typeOnly: boolean }> = [];
  for (const m of source.matchAll(/(?:^|[;\n])\s*(import|export)\s+(type\s+)?(?:[^;'"]*?\bfrom\s*)?['"]([^'"]+)['"]/g)) {
    found.push({ specifier: m[3]!, dynamic: false, typeOnly: Boolean(m[2]) });
  }
  for (const m of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: m[1]!, dynamic: true, typeOnly: false });
  return found;
}

function packageName(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
}

function resolveFile(root: string, fromFile: string, specifier: string): string {
  const base = path.join(path.dirname(path.join(root, fromFile)), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts'), base];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0]!;
  return path.relative(root, hit).split(path.sep).join('/');
}

export function tsFilesUnder(root: string, folders: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) out.push(rel);
    }
  };
  for (const folder of folders) if (existsSync(path.join(root, folder))) walk(folder);
  return out.sort();
}

/** file → its imports, for every .ts file under `folders` of `root`. */
export function importGraph(root: string, folders: string[]): Map<string, Import[]> {
  const graph = new Map<string, Import[]>();
  for (const file of tsFilesUnder(root, folders)) {
    const imports = importSpecifiers(readFileSync(path.join(root, file), 'utf8'))
      .filter((i) => !i.specifier.startsWith('node:'))
      .map((i): Import => {
        const relative = i.specifier.startsWith('.');
        return { target: relative ? resolveFile(root, file, i.specifier) : packageName(i.specifier), isPackage: !relative, dynamic: i.dynamic, typeOnly: i.typeOnly };
      });
    graph.set(file, imports);
  }
  return graph;
}

/**
 * What loading `entry` loads: files and packages reached through static,
 * value imports (type-only imports are erased by the compiler; dynamic ones
 * load only when their code runs, unless `followDynamic`).
 */
export function staticClosure(graph: Map<string, Import[]>, entry: string, followDynamic = false): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const i of graph.get(file) ?? []) {
      if ((i.dynamic && !followDynamic) || i.typeOnly) continue;
      if (i.isPackage) packages.add(i.target);
      else queue.push(i.target);
    }
  }
  return { files, packages };
}
