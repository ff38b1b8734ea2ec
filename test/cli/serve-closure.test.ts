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
  t.ok(files.has('cmd/commands/serve.ts'), 'it loads serve');
  t.same(devOnly(files), [], 'no file of local-cluster/ or cmd/local/');
  t.notOk(packages.has('s3rver'), 'not s3rver');
  t.same([...packages].filter((p) => !(p in pkg.dependencies)).sort(), [], `only production dependencies (${[...packages].sort().join(', ')})`);
});

t.test('serve loads each part when it runs, and only production pieces', async (t) => {
  // The parts are imported by run-parts.ts when selected: what `serve` can reach includes them, nothing dev-only.
  const { files, packages } = staticClosure(graph, 'cmd/commands/serve.ts', true);
  for (const part of ['api/index.ts', 'webhook/index.ts', 'controller/index.ts']) t.ok(files.has(part), `it can load ${part}`);
  t.same(devOnly(files), [], 'no file of local-cluster/ or cmd/local/');
  t.same([...packages].filter((p) => !(p in pkg.dependencies)).sort(), [], `only production dependencies (${[...packages].sort().join(', ')})`);
  // Loading the CLI loads none of them: a process running one part holds no other part's modules (issue 17: RSS).
  const loaded = staticClosure(graph, ENTRY);
  for (const part of ['api/index.ts', 'webhook/index.ts', 'controller/index.ts', 'certs/generate.ts']) t.notOk(loaded.files.has(part), `the CLI alone does not load ${part}`);
  for (const name of ['node-forge', 'jose', '@aws-sdk/client-s3']) t.notOk(loaded.packages.has(name), `the CLI alone does not load ${name}`);
  // Nor does the API part load another part's, or the OIDC verifier's, packages before they are used.
  const api = staticClosure(graph, 'api/index.ts');
  for (const name of ['node-forge', 'jose']) t.notOk(api.packages.has(name), `the API part does not load ${name} up front`);
  t.notOk([...api.files].some((f) => f.startsWith('controller/') || f.startsWith('webhook/') || f.startsWith('certs/')), 'no file of another part');
});

t.test('the check sees the dev-only pieces behind the dynamic imports', async (t) => {
  // Following the dynamic imports as well must find them, or the test above could not fail.
  const { files, packages } = staticClosure(graph, ENTRY, true);
  t.ok(devOnly(files).includes('local-cluster/index.ts'), 'local-cluster, behind `local` and `local-cluster`');
  t.ok(devOnly(files).includes('cmd/local/run-local.ts'), 'the local wiring');
  t.ok(packages.has('s3rver'), 's3rver, behind `local`');
  t.ok('s3rver' in pkg.devDependencies && !('s3rver' in pkg.dependencies), 's3rver is a dev dependency');
});
