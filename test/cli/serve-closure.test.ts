/**
 * The production install (`npm ci --omit=dev`, the image) runs `serve`: what
 * loading the CLI loads must not reach local-cluster, the `local` wiring or
 * s3rver (a dev dependency), and every package it loads must be a production
 * dependency. `local` and `local-cluster` reach those only by a dynamic import.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importGraph, staticClosure } from '../helpers/import-graph.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const graph = importGraph(root, ['cmd', 'api', 'webhook', 'controller', 'local-cluster', 'certs', 'lib']);
const ENTRY = 'cmd/main.ts';

const devOnly = (files: Set<string>): string[] => [...files].filter((f) => f.startsWith('local-cluster/') || f.startsWith('cmd/local/')).sort();

t.test('the CLI, as loaded for serve, reaches no dev-only piece', async (t) => {
  const { files, packages } = staticClosure(graph, ENTRY);
  for (const part of ['cmd/commands/serve.ts', 'api/index.ts', 'webhook/index.ts', 'controller/index.ts']) t.ok(files.has(part), `it loads ${part}`);
  t.same(devOnly(files), [], 'no file of local-cluster/ or cmd/local/');
  t.notOk(packages.has('s3rver'), 'not s3rver');
  t.same([...packages].filter((p) => !(p in pkg.dependencies)).sort(), [], `only production dependencies (${[...packages].sort().join(', ')})`);
});

t.test('the check sees the dev-only pieces behind the dynamic imports', async (t) => {
  // Following the dynamic imports as well must find them, or the test above could not fail.
  const { files, packages } = staticClosure(graph, ENTRY, true);
  t.ok(devOnly(files).includes('local-cluster/index.ts'), 'local-cluster, behind `local` and `local-cluster`');
  t.ok(devOnly(files).includes('cmd/local/run-local.ts'), 'the local wiring');
  t.ok(packages.has('s3rver'), 's3rver, behind `local`');
  t.ok('s3rver' in pkg.devDependencies && !('s3rver' in pkg.dependencies), 's3rver is a dev dependency');
});
