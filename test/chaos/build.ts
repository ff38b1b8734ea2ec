/**
 * The manager's sources transpiled to JavaScript once per chaos run (no
 * type check: `npm test` does that), so each part, and each restart of a
 * killed replica, starts with plain `node`. Through tsx's loader hooks,
 * loading @kubernetes/client-node alone costs ~5× the CPU, which on a shared
 * 2-core machine means minutes per start. Same code as `npm run build`.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from './processes.js';

/** The folders `tsconfig.build.json` compiles, and the chaos run's helper processes. */
const FOLDERS = ['api', 'webhook', 'controller', 'certs', 'local-cluster', 'lib', 'cmd', 'test/chaos'];

async function* sources(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) yield file;
    else if (entry.name.endsWith('.json')) yield file;
  }
}

/** Writes the transpiled tree under `outDir`, with package.json and node_modules beside it. */
export async function transpileProduct(outDir: string): Promise<void> {
  const options: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false };
  for (const folder of FOLDERS) {
    for await (const file of sources(path.join(ROOT, folder))) {
      const relative = path.relative(ROOT, file);
      if (relative.endsWith('.json')) {
        // Data the sources import (e.g. local-cluster's protobuf field table), as it is.
        await mkdir(path.dirname(path.join(outDir, relative)), { recursive: true });
        await writeFile(path.join(outDir, relative), await readFile(file));
        continue;
      }
      const { outputText, diagnostics } = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: options, fileName: relative, reportDiagnostics: true });
      if (diagnostics?.length) throw new Error(`${relative}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
      const target = path.join(outDir, relative.replace(/\.ts$/, '.js'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, outputText);
    }
  }
  // ESM like the package, with the package's dependencies.
  await writeFile(path.join(outDir, 'package.json'), JSON.stringify({ name: 'k8s-job-manager-chaos-build', type: 'module', private: true }));
  await symlink(path.join(ROOT, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
}
